"""Partner settlement: a partner's drivers' sessions are billed to the partner on one monthly
statement, never receipted to the driver."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update

import voltlane.billing.tasks  # noqa: F401 - declares billing.rate_session, which a stop enqueues
from tests.conftest import MakeBrand
from tests.factories import BERLIN_SELLER
from tests.ocpi.emi3_support import emi3_id
from tests.ocpi.roaming_support import (
    T0,
    add_partner,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    rate,
)
from voltlane.billing.accounts import AccountCreate, create_account
from voltlane.billing.invoicing import (
    accounts_to_invoice,
    document_of,
    invoice_account,
    issue_documents,
)
from voltlane.charging.service import ensure_id_token
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    ChargingSession,
    CustomerAccount,
    Evse,
    Invoice,
    InvoiceCdr,
    InvoiceKind,
    Invoicing,
    OcpiPartner,
)
from voltlane.ocpi.cdr_tasks import push_cdrs_brand
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy.spec import Ocpi
from voltlane.worker import JobContext

MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
MAY = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


async def test_a_partners_month_of_roaming_sessions_is_one_statement_and_no_receipts(
    database: Database, settings: Settings, make_brand: MakeBrand
) -> None:
    brand = await make_brand(legal=BERLIN_SELLER, ocpi=Ocpi(country_code="DE", party_id="VLT"))
    msp = await add_partner(database, settings.secret_key, brand, party_id="MSP")
    other = await add_partner(database, settings.secret_key, brand, party_id="OTH")
    await add_tariff(database, brand, "PUBLIC-049", "0.49")
    await add_tariff(
        database, brand, "ROAM-MSP", "0.40", segment=SegmentKind.ROAMING, segment_ref="NL*MSP"
    )
    site = await add_site(database, brand, "CP-SETTLE-1")
    msp_token = await add_roaming_token(database, brand, msp, "04AABB")
    sessions = [
        await charge(database, brand, site, id_tag="04AABB", roaming_token_id=msp_token),
        await charge(
            database,
            brand,
            site,
            id_tag="04AABB",
            roaming_token_id=msp_token,
            wh=6_000,
            start=T0.replace(day=10),
        ),
        await charge(
            database,
            brand,
            site,
            id_tag="04CCDD",
            roaming_token_id=await add_roaming_token(database, brand, other, "04CCDD"),
        ),
        await charge(database, brand, site, id_tag="OWN-CARD", roaming_token_id=None),
    ]
    cdr_ids = [await rate(database, brand, session_id) for session_id in sessions]

    # Before the partners have their accounts: only the brand's own driver gets a receipt.
    async with database.tenant_transaction(brand.key) as db_session:
        receipts = await issue_documents(db_session, brand, now=NOW)
    assert [(r.kind, r.session_id) for r in receipts] == [(InvoiceKind.RECEIPT, sessions[3])]

    jobs = JobContext(database=database, settings=settings)
    await push_cdrs_brand(jobs, tenant=brand.key)
    await push_cdrs_brand(jobs, tenant=brand.key)

    async with database.tenant_session(brand.key) as db_session:
        partners = {p.party_id: p.account_id for p in await db_session.scalars(select(OcpiPartner))}
        accounts = {
            a.id: a
            for a in await db_session.scalars(
                select(CustomerAccount).where(CustomerAccount.kind == AccountKind.PARTNER)
            )
        }
    msp_account, other_account = partners["MSP"], partners["OTH"]
    assert msp_account is not None
    assert other_account is not None
    assert set(accounts) == {msp_account, other_account}
    account = accounts[msp_account]
    assert (account.name, account.country, account.locale, account.invoicing) == (
        "MSP Mobility",
        "NL",
        "en_GB",
        Invoicing.MONTHLY,
    )

    async with database.tenant_transaction(brand.key) as db_session:
        assert await issue_documents(db_session, brand, now=NOW) == []
        due = await accounts_to_invoice(db_session, brand, MARCH)
        statement = await invoice_account(db_session, brand, account.id, MARCH, now=NOW)
    assert set(due) == {msp_account, other_account}
    assert statement is not None
    assert statement.kind is InvoiceKind.INVOICE
    # 12 kWh and 6 kWh at the partner's 0.40: 4.80 + 2.40 = 7.20 net, 19 % VAT 1.368 -> 1.37.
    assert (statement.total_net, statement.total_vat, statement.total_gross) == (720, 137, 857)
    assert (statement.period_start, statement.period_end) == (MARCH, date(2026, 3, 31))
    document = document_of(statement)
    assert document.buyer.name == "MSP Mobility"
    assert [(line.net, line.details[0]) for line in document.lines] == [
        (480, "12.000 kWh charged"),
        (240, "6.000 kWh charged"),
    ]
    async with database.tenant_session(brand.key) as db_session:
        documents = (await db_session.scalars(select(Invoice).order_by(Invoice.number))).all()
        on_statement = (
            await db_session.scalars(
                select(InvoiceCdr.cdr_id).where(InvoiceCdr.invoice_id == statement.id)
            )
        ).all()
    # The receipt of the own driver and the statement: nothing for the partner's drivers.
    assert {(d.kind, d.account_id) for d in documents} == {
        (InvoiceKind.INVOICE, account.id),
        (InvoiceKind.RECEIPT, None),
    }
    assert set(on_statement) == {cdr_ids[0], cdr_ids[1]}


async def test_only_sessions_reported_to_the_partner_are_on_its_statement(
    database: Database, settings: Settings, make_brand: MakeBrand
) -> None:
    """A partner's statement holds every CDR it was reported and nothing else: a session at
    an EVSE that lost its eMI3 id waits (no statement, no receipt) until the EVSE has one
    again and then lands on the next statement; a session at no EVSE is never reported, so
    never on it; a session of the same card not linked to the partner is the brand's card's
    (here on its fleet's invoice), and the partner's sessions never land there."""
    brand = await make_brand(legal=BERLIN_SELLER, ocpi=Ocpi(country_code="DE", party_id="VLT"))
    msp = await add_partner(database, settings.secret_key, brand, party_id="MSP")
    await add_tariff(database, brand, "PUBLIC-049", "0.49")
    await add_tariff(
        database, brand, "ROAM-MSP", "0.40", segment=SegmentKind.ROAMING, segment_ref="NL*MSP"
    )
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await create_account(
            db_session,
            AccountCreate(
                kind=AccountKind.FLEET,
                name="Hafen Logistik",
                locale="de_DE",
                country="DE",
                invoicing=Invoicing.MONTHLY,
            ),
        )
        fleet_id = fleet.id
        # The brand's own fleet card shares its uid with the partner's driver's card.
        await ensure_id_token(
            db_session, id_token="04AABB", token_type="ISO14443", label=None, account_id=fleet_id
        )
    published = await add_site(database, brand, "CP-SETTLE-2")
    held = await add_site(database, brand, "CP-SETTLE-3")
    msp_token = await add_roaming_token(database, brand, msp, "04AABB")
    # Of the same card: reported, held back, at no EVSE (all the partner's), not linked.
    reported, waiting, nowhere, unlinked = [
        await charge(
            database,
            brand,
            site,
            id_tag="04AABB",
            roaming_token_id=token,
            wh=wh,
            start=T0.replace(day=day),
        )
        for site, token, wh, day in (
            (published, msp_token, 12_000, 2),
            (held, msp_token, 6_000, 10),
            (published, msp_token, 3_000, 12),
            (published, None, 2_000, 14),
        )
    ]
    async with database.tenant_transaction(brand.key) as db_session:
        # As a start on a connector the station has no EVSE for leaves it: at no EVSE.
        await db_session.execute(
            update(ChargingSession).where(ChargingSession.id == nowhere).values(evse_pk=None)
        )
        # Staff take the eMI3 id of the held station's EVSE away after the charge.
        await db_session.execute(
            update(Evse).where(Evse.charging_station_id == held.station.id).values(emi3_id=None)
        )
    cdr_ids = [
        await rate(database, brand, session_id)
        for session_id in (reported, waiting, nowhere, unlinked)
    ]
    jobs = JobContext(database=database, settings=settings)
    await push_cdrs_brand(jobs, tenant=brand.key)

    async with database.tenant_transaction(brand.key) as db_session:
        receipts = await issue_documents(db_session, brand, now=NOW)
        partner = await db_session.get(OcpiPartner, msp.id)
        assert partner is not None
        msp_account = partner.account_id
        assert msp_account is not None
        due = await accounts_to_invoice(db_session, brand, MARCH)
        march = await invoice_account(db_session, brand, msp_account, MARCH, now=NOW)
        fleet_march = await invoice_account(db_session, brand, fleet_id, MARCH, now=NOW)
    assert receipts == []
    assert set(due) == {msp_account, fleet_id}
    assert march is not None
    assert fleet_march is not None
    # 12 kWh at the partner's 0.40: 4.80 net, 19 % VAT 0.912 -> 0.91.
    assert (march.total_net, march.total_vat, march.total_gross) == (480, 91, 571)
    # 2 kWh of the brand's own card at the public 0.49: 0.98 net, VAT 0.1862 -> 0.19.
    assert (fleet_march.total_net, fleet_march.total_vat, fleet_march.total_gross) == (
        98,
        19,
        117,
    )

    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            update(Evse)
            .where(Evse.charging_station_id == held.station.id)
            .values(emi3_id=emi3_id(("DE", "VLT"), "CP-SETTLE-3", 1))
        )
    async with database.tenant_transaction(brand.key) as db_session:
        later = await accounts_to_invoice(db_session, brand, APRIL)
        april = await invoice_account(db_session, brand, msp_account, APRIL, now=MAY)
        receipts = await issue_documents(db_session, brand, now=MAY)
    assert later == [msp_account]
    assert april is not None
    # The held 6 kWh at 0.40, reported now: 2.40 net, VAT 0.456 -> 0.46.
    assert (april.total_net, april.total_vat, april.total_gross) == (240, 46, 286)
    assert receipts == []
    async with database.tenant_session(brand.key) as db_session:
        billed = dict(
            (await db_session.execute(select(InvoiceCdr.cdr_id, InvoiceCdr.invoice_id))).all()
        )
    assert billed == {
        cdr_ids[0]: march.id,
        cdr_ids[1]: april.id,
        cdr_ids[3]: fleet_march.id,
    }
