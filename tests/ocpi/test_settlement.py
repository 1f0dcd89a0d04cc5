"""Partner settlement: a partner's drivers' sessions are billed to the partner on one monthly
statement, never receipted to the driver."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

import voltlane.billing.tasks  # noqa: F401 - declares billing.rate_session, which a stop enqueues
from tests.conftest import MakeBrand
from tests.factories import BERLIN_SELLER
from tests.ocpi.roaming_support import (
    T0,
    add_partner,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    rate,
)
from voltlane.billing.invoicing import (
    accounts_to_invoice,
    document_of,
    invoice_account,
    issue_documents,
)
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    CustomerAccount,
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
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


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
