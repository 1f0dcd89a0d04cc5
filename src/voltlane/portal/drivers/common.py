"""What the Drivers and Fleets pages share: permissions, audit, lists, account pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import accounts
from voltlane.charging import tokens
from voltlane.core.errors import VoltlaneError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import (
    AccountKind,
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    Invoicing,
)
from voltlane.portal import pages
from voltlane.portal.drivers.forms import (
    DRIVER_FIELDS,
    MAX_INPUT,
    Errors,
    account_form,
    account_locales,
    account_values,
    changed_fields,
    locale_options,
)
from voltlane.portal.pages import (
    Format,
    PageNumber,
    audit,
    read_form,
    render,
)
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant

READ = {"reader": Provide(requires(Permission.DRIVERS_READ))}
WRITE = {"writer": Provide(requires(Permission.DRIVERS_WRITE))}

Columns = tuple[tuple[str, Callable[[Any], Any]], ...]


def domain_error(exc: VoltlaneError, fields: tuple[str, ...]) -> Errors:
    """A service's refusal, beside its field when the form has it, else for the whole form."""
    return {exc.field if exc.field in fields else "_form": exc.detail}


def token_link(token: IdToken) -> str:
    """The token list showing ``token``."""
    return "/portal/drivers/tokens?" + urlencode({"q": token.id_token})


TOKEN_COLUMNS = (
    ("id_token", lambda r: r.token.id_token),
    ("type", lambda r: r.token.type),
    ("status", lambda r: r.token.status),
    ("label", lambda r: r.token.label),
    ("group_id_token", lambda r: r.token.group_id_token),
    ("account_id", lambda r: r.token.account_id),
    ("account", lambda r: r.account_name),
    ("driver", lambda r: r.token.driver_name),
    ("vehicle", lambda r: r.token.vehicle),
    ("cost_centre", lambda r: r.token.cost_centre),
    ("expires_at", lambda r: r.token.expires_at),
    ("created_at", lambda r: r.token.created_at),
)
DRIVER_COLUMNS = (
    ("id", lambda r: r.account.id),
    ("name", lambda r: r.account.name),
    ("email", lambda r: r.account.email),
    ("street", lambda r: r.account.street),
    ("postal_code", lambda r: r.account.postal_code),
    ("city", lambda r: r.account.city),
    ("country", lambda r: r.account.country),
    ("locale", lambda r: r.account.locale),
    ("vat_id", lambda r: r.account.vat_id),
    ("redeem_points", lambda r: "yes" if r.account.redeem_points else "no"),
    ("cards", lambda r: r.cards),
    ("created_at", lambda r: r.account.created_at),
)
GROUP_COLUMNS = (
    ("group_id_token", lambda g: g.group_id_token),
    ("tokens", lambda g: g.tokens),
    ("blocked", lambda g: g.blocked),
    ("accounts", lambda g: g.accounts),
)


async def list_page(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    fetch: pages.Fetch,
    *,
    page: int,
    format: str,  # noqa: A002 - the query parameter's name
    csv: tuple[str, Columns],
    template: str,
    fragment: str,
    query: Mapping[str, str],
    context: Mapping[str, Any] | None = None,
) -> Response[Any]:
    """A list page: ``fetch(limit, offset)`` paged, its table alone for HTMX, or all of it
    (up to CSV_MAX_ROWS rows) as the CSV file ``csv`` = (filename, columns)."""
    filename, columns = csv
    return await pages.list_page(
        request,
        staff,
        fetch,
        page=page,
        format=format,
        filename=filename,
        columns=columns,
        template=template,
        fragment=fragment,
        query=query,
        context=context,
    )


@dataclass(frozen=True, slots=True)
class AccountSection:
    """The pages of one kind of customer account (drivers, fleets): list, form, save."""

    kind: AccountKind
    name: str  # the section: /portal/<name>, templates portal/<name>/, <name>.csv
    fields: tuple[str, ...]  # what its form asks
    columns: Columns
    # What a new account's form starts with; the brand's language and country are added.
    defaults: Mapping[str, Any]

    async def account(self, db_session: AsyncSession, account_id: uuid.UUID) -> CustomerAccount:
        """The account of this kind (404 for another kind's or another brand's id)."""
        return await accounts.get_account_of_kind(db_session, account_id, self.kind)

    async def index(
        self,
        db_session: AsyncSession,
        request: Request[Any, Any, Any],
        staff: StaffIdentity,
        *,
        q: str,
        page: int,
        format: str,  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        """The accounts by name, searched by name or e-mail."""
        text = q.strip()[:MAX_INPUT] or None

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await accounts.search_accounts(
                db_session, kind=self.kind, text=text, limit=limit, offset=offset
            )

        return await list_page(
            request,
            staff,
            fetch,
            page=page,
            format=format,
            csv=(f"{self.name}.csv", self.columns),
            template=f"portal/{self.name}/index.html",
            fragment=f"portal/{self.name}/_table.html",
            query={"q": text or ""},
            context={"q": text or ""},
        )

    async def form_page(
        self,
        db_session: AsyncSession,
        request: Request[Any, Any, Any],
        staff: StaffIdentity,
        account: CustomerAccount | None,
        *,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
    ) -> Response[str]:
        """The account's form: filled in from ``values`` (what was sent), else from the
        account, else with the defaults; status 400 when there are ``errors``."""
        if values is None and account is not None:
            values = account_values(account)
        elif values is None:
            brand = current_tenant(request)
            values = {
                "locale": brand.locale,
                "country": brand.locale.partition("_")[2],
                **self.defaults,
            }
        return render(
            request,
            staff,
            f"portal/{self.name}/form.html",
            {
                "account": account,
                "values": values,
                "errors": errors or {},
                "locale_options": locale_options(request, account),
                "contracts": (
                    await accounts.known_contracts(db_session) if "contract" in self.fields else []
                ),
            },
            status_code=400 if errors else 200,
        )

    async def save(
        self,
        db_session: AsyncSession,
        request: Request[Any, Any, Any],
        staff: StaffIdentity,
        account: CustomerAccount | None,
    ) -> Response[Any]:
        """Add an account (``account`` None) or change its billing details, audited; the
        form again with its errors when something is wrong, and nothing written."""
        form = await read_form(request)
        values, errors = account_form(form, self.fields, account_locales(request, account))
        if errors:
            return await self.form_page(
                db_session, request, staff, account, values=form, errors=errors
            )
        detail: dict[str, Any]
        try:
            if account is None:
                saved = await accounts.create_account(
                    db_session,
                    accounts.AccountCreate(kind=self.kind, **{**self.defaults, **values}),
                )
                action, detail = "create", {"kind": saved.kind.value}
                if saved.contract:
                    detail["contract"] = saved.contract
            else:
                changed = changed_fields(account, values)
                saved = await accounts.update_account(
                    db_session, account.id, accounts.AccountUpdate(**values)
                )
                action, detail = "update", {"changes": changed}
        except VoltlaneError as exc:
            errors = domain_error(exc, self.fields)
            return await self.form_page(
                db_session, request, staff, account, values=form, errors=errors
            )
        await audit(
            db_session,
            request,
            staff,
            action=f"portal.customer_account.{action}",
            entity="customer_account",
            entity_id=saved.id,
            detail=detail,
        )
        return Redirect(f"/portal/{self.name}/{saved.id}", status_code=303)


DRIVERS = AccountSection(
    AccountKind.DRIVER,
    "drivers",
    DRIVER_FIELDS,
    DRIVER_COLUMNS,
    {"invoicing": Invoicing.PER_SESSION},
)


class AccountPagesController(Controller):
    """The list, the add form and the edit form of one kind of customer account; a
    subclass names its ``path`` and ``section`` and adds the account's own page."""

    section: ClassVar[AccountSection]
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", dependencies=READ)
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        q: FromQuery[str] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        return await self.section.index(db_session, request, reader, q=q, page=page, format=format)

    @get("/new", dependencies=WRITE)
    async def new(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        return await self.section.form_page(db_session, request, writer, None)

    @post("/", dependencies=WRITE, status_code=303)
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        return await self.section.save(db_session, request, writer, None)

    @get("/{account_id:uuid}/edit", dependencies=WRITE)
    async def edit(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        account = await self.section.account(db_session, account_id)
        return await self.section.form_page(db_session, request, writer, account)

    @post("/{account_id:uuid}", dependencies=WRITE, status_code=303)
    async def update(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        account = await self.section.account(db_session, account_id)
        return await self.section.save(db_session, request, writer, account)


async def set_token_status(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    token_id: uuid.UUID,
    status: IdTokenStatus,
) -> IdToken:
    """Block a token or accept it again; its next authorization sees the change."""
    before = await tokens.get_token(db_session, token_id)
    previous = before.status
    token = await tokens.update_token(db_session, token_id, tokens.IdTokenUpdate(status=status))
    action = "block" if status is IdTokenStatus.BLOCKED else "unblock"
    await audit(
        db_session,
        request,
        staff,
        action=f"portal.id_token.{action}",
        entity="id_token",
        entity_id=token.id,
        detail={"from": previous.value, "to": status.value},
    )
    return token
