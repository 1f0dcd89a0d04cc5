"""A circuit's V2X discharge limit in the portal's site editor: set with the site's form,
refused beside its field when over the circuit's capacity, shown again when edited, and
said in German and French."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.api.test_sites_api import make_depot
from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_i18n import choose_language
from tests.web.test_portal_sites import PASSWORD, SITE_FORM, _staff
from voltlane.core.db import Database
from voltlane.models.tenant import Site
from voltlane.tenancy import TenantInfo

D = Decimal
HINT = {
    "en": "At a grid connection, leave empty to let no car feed back (V2X); a circuit left "
    "empty is held by its capacity and the limits above it.",
    "de": "Bei einem Netzanschluss leer lassen, damit kein Fahrzeug zurückspeist (V2X); ein "
    "leer gelassener Stromkreis ist durch seine Kapazität und die Grenzen darüber begrenzt.",
    "fr": "Pour un raccordement au réseau, laisser vide pour qu&#39;aucun véhicule ne "
    "réinjecte (V2X) ; un circuit laissé vide est limité par sa capacité et les limites "
    "au-dessus de lui.",
}


async def _circuits(database: Database, brand: TenantInfo) -> list[Site]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(Site).where(Site.parent_id.is_not(None))))


async def test_a_circuits_discharge_limit_is_set_and_refused_beside_its_field(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=["en_GB", "de_DE", "fr_FR"])
    await _staff(database, brand)
    depot = await make_depot(database, brand)
    circuit = {
        **SITE_FORM,
        "name": "Bay 1",
        "parent_id": str(depot.site_id),
        "capacity_a": "40",
        "safe_limit_a": "20",
    }
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/sites/new", headers=HTML)
        token = csrf_token(form.text)
        too_much = await client.post(
            "/portal/sites/new",
            data={**circuit, "discharge_limit_a": "40.5", "_csrf_token": token},
            headers=HTML,
        )
        saved = await client.post(
            "/portal/sites/new",
            data={**circuit, "discharge_limit_a": "6.5", "_csrf_token": token},
            headers=HTML,
        )
        [bay] = await _circuits(database, brand)
        edit = await client.get(f"/portal/sites/{bay.id}/edit", headers=HTML)
        pages = {}
        for locale in ("de_DE", "fr_FR"):
            await choose_language(client, locale, edit.text)
            pages[locale[:2]] = await client.get(f"/portal/sites/{bay.id}/edit", headers=HTML)
    assert too_much.status_code == 400
    assert (
        '<p class="field-error" id="discharge_limit_a-error">'
        "Enter a current from 0 to 40 A, in steps of 0.1 A.</p>"
    ) in too_much.text
    assert 'value="40.5"' in too_much.text
    assert saved.status_code == 303
    assert (bay.name, bay.parent_id, bay.capacity_a, bay.discharge_limit_a) == (
        "Bay 1",
        depot.site_id,
        D(40),
        D("6.5"),
    )
    assert 'id="discharge_limit_a" name="discharge_limit_a" type="text" value="6.5"' in edit.text
    assert HINT["en"] in edit.text
    for language, page in pages.items():
        assert HINT[language] in page.text, language
