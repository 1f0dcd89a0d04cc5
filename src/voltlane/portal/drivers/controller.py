"""Drivers: their customer accounts, IdTokens, subscriptions, wallets, loyalty, token groups.

The pages call the same services as the operator API (``billing.accounts``,
``charging.tokens``, ``billing.subscriptions``, ``billing.settlement``); forms are parsed and
checked here, then every write goes through its service and the audit log in the request's
transaction, followed by a redirect to the page that shows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import accounts, subscriptions
from voltlane.charging import tokens
from voltlane.core.errors import VoltlaneError
from voltlane.identity.drivers.cards import printed_claim_code
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import (
    AccountKind,
    IdToken,
    IdTokenStatus,
    IdTokenType,
)
from voltlane.portal.drivers.account_page import driver_context
from voltlane.portal.drivers.common import (
    DRIVERS,
    GROUP_COLUMNS,
    READ,
    TOKEN_COLUMNS,
    WRITE,
    AccountPagesController,
    domain_error,
    list_page,
    set_token_status,
    token_link,
)
from voltlane.portal.drivers.forms import (
    EDIT_FIELDS,
    MAX_INPUT,
    TOKEN_FIELDS,
    Errors,
    changed_fields,
    local_zone,
    token_form,
    token_values,
)
from voltlane.portal.drivers.wallet import WalletRoutes
from voltlane.portal.pages import Format, PageNumber, audit, read_form, render
from voltlane.web.auth import safe_next
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_

CHOICES = 500  # accounts offered in a token's account list


class DriversController(WalletRoutes, AccountPagesController):
    path = "/portal/drivers"
    section = DRIVERS

    # -- driver accounts -----------------------------------------------------------------------
    @get("/{account_id:uuid}", dependencies=READ)
    async def show(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        account = await DRIVERS.account(db_session, account_id)
        context = await driver_context(db_session, request, account)
        return render(request, reader, "portal/drivers/show.html", context)

    # -- subscriptions -------------------------------------------------------------------------
    @post("/{account_id:uuid}/subscriptions", dependencies=WRITE, status_code=303)
    async def subscribe(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        account = await DRIVERS.account(db_session, account_id)
        form = await read_form(request)
        errors: Errors = {}
        plan = form.get("plan_code", "")
        if not plan:
            errors["plan_code"] = N_("Choose a plan.")
        starts_on = _day(form.get("starts_on", ""))
        if starts_on is None:
            errors["starts_on"] = N_("Enter a date.")
        if not errors and starts_on is not None:
            try:
                subscription = await subscriptions.subscribe(
                    db_session, account.id, plan, starts_on=starts_on
                )
            except VoltlaneError as exc:
                errors = domain_error(exc, ("plan_code", "starts_on"))
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.subscription.create",
                    entity="subscription",
                    entity_id=subscription.id,
                    detail={"plan": plan, "starts_on": starts_on.isoformat()},
                )
                return Redirect(f"/portal/drivers/{account.id}", status_code=303)
        context = await driver_context(db_session, request, account)
        context.update(subscribe_form=form, subscribe_errors=errors)
        return render(request, writer, "portal/drivers/show.html", context, status_code=400)

    @post(
        "/{account_id:uuid}/subscriptions/{subscription_id:uuid}/end",
        dependencies=WRITE,
        status_code=303,
    )
    async def end_subscription(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
        subscription_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        account = await DRIVERS.account(db_session, account_id)
        held = await subscriptions.subscriptions_of(db_session, account.id)
        if subscription_id not in {s.id for s in held}:
            raise subscriptions.SubscriptionNotFoundError(f"no subscription {subscription_id}")
        form = await read_form(request)
        errors: Errors = {}
        ends_on = _day(form.get("ends_on", ""))
        if ends_on is None:
            errors["ends_on"] = N_("Enter a date.")
        else:
            try:
                await subscriptions.end_subscription(db_session, subscription_id, ends_on=ends_on)
            except VoltlaneError as exc:
                errors = domain_error(exc, ("ends_on",))
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.subscription.end",
                    entity="subscription",
                    entity_id=subscription_id,
                    detail={"ends_on": ends_on.isoformat()},
                )
                return Redirect(f"/portal/drivers/{account.id}", status_code=303)
        context = await driver_context(db_session, request, account)
        context.update(end_form=form, end_errors=errors)
        return render(request, writer, "portal/drivers/show.html", context, status_code=400)

    # -- IdTokens ------------------------------------------------------------------------------
    @get("/tokens", dependencies=READ)
    async def token_list(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        status: FromQuery[IdTokenStatus | None] = None,
        type: FromQuery[IdTokenType | None] = None,  # noqa: A002 - the query parameter's name
        account: FromQuery[uuid.UUID | None] = None,
        group: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = tokens.TokenFilter(
            status=status,
            type=type,
            account_id=account,
            group_id_token=group.strip()[: tokens.MAX_ID_TOKEN] or None,
            text=q.strip()[:MAX_INPUT] or None,
        )
        query = {
            "status": status.value if status else "",
            "type": type.value if type else "",
            "account": str(account) if account else "",
            "group": filters.group_id_token or "",
            "q": filters.text or "",
        }
        # Only the brand's accounts are found: another brand's id answers 404.
        filtered = await accounts.get_account(db_session, account) if account else None

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await tokens.find_tokens(db_session, filters, limit=limit, offset=offset)

        return await list_page(
            request,
            reader,
            fetch,
            page=page,
            format=format,
            csv=("id-tokens.csv", TOKEN_COLUMNS),
            template="portal/drivers/tokens.html",
            fragment="portal/drivers/_tokens_table.html",
            query=query,
            context={
                "filters": query,
                "filtered_account": filtered,
            },
        )

    @get("/tokens/new", dependencies=WRITE)
    async def new_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account: FromQuery[uuid.UUID | None] = None,
    ) -> Response[str]:
        values: dict[str, Any] = {
            "type": IdTokenType.ISO14443.value,
            "status": IdTokenStatus.ACCEPTED.value,
            "account_id": account,
        }
        return await _token_page(db_session, request, writer, None, values, errors={})

    @post("/tokens", dependencies=WRITE, status_code=303)
    async def create_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await read_form(request)
        values, errors = token_form(form, TOKEN_FIELDS, local_zone(request))
        if not errors:
            try:
                token = await tokens.create_token(db_session, tokens.IdTokenCreate(**values))
            except VoltlaneError as exc:
                errors = domain_error(exc, TOKEN_FIELDS)
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.id_token.create",
                    entity="id_token",
                    entity_id=token.id,
                    detail={"type": token.type.value, "status": token.status.value},
                )
                return Redirect(token_link(token), status_code=303)
        return await _token_page(
            db_session, request, writer, None, form, errors=errors, status_code=400
        )

    @get("/tokens/{token_id:uuid}/edit", dependencies=WRITE)
    async def edit_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        token_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        token = await tokens.get_token(db_session, token_id)
        values = token_values(token, local_zone(request))
        return await _token_page(db_session, request, writer, token, values, errors={})

    @post("/tokens/{token_id:uuid}", dependencies=WRITE, status_code=303)
    async def update_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        token_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        token = await tokens.get_token(db_session, token_id)
        form = await read_form(request)
        values, errors = token_form(form, EDIT_FIELDS, local_zone(request))
        if not errors:
            changed = changed_fields(token, values)
            try:
                await tokens.update_token(db_session, token.id, tokens.IdTokenUpdate(**values))
            except VoltlaneError as exc:
                errors = domain_error(exc, EDIT_FIELDS)
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.id_token.update",
                    entity="id_token",
                    entity_id=token.id,
                    detail={"changes": changed},
                )
                return Redirect(token_link(token), status_code=303)
        return await _token_page(
            db_session, request, writer, token, form, errors=errors, status_code=400
        )

    @post("/tokens/{token_id:uuid}/block", dependencies=WRITE, status_code=303)
    async def block_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        token_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await set_token_status(db_session, request, writer, token_id, IdTokenStatus.BLOCKED)
        return await _back(request)

    @post("/tokens/{token_id:uuid}/unblock", dependencies=WRITE, status_code=303)
    async def unblock_token(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        token_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await set_token_status(db_session, request, writer, token_id, IdTokenStatus.ACCEPTED)
        return await _back(request)

    # -- customer groups -----------------------------------------------------------------------
    @get("/groups", dependencies=READ)
    async def groups(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        q: FromQuery[str] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        text = q.strip()[: tokens.MAX_ID_TOKEN] or None

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await tokens.token_groups(db_session, text=text, limit=limit, offset=offset)

        return await list_page(
            request,
            reader,
            fetch,
            page=page,
            format=format,
            csv=("token-groups.csv", GROUP_COLUMNS),
            template="portal/drivers/groups.html",
            fragment="portal/drivers/_groups_table.html",
            query={"q": text or ""},
            context={"q": text or ""},
        )


# -- page builders -----------------------------------------------------------------------------


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def _back(request: Request[Any, Any, Any]) -> Response[Any]:
    """After a block or unblock: back to the page the button was on (this host only)."""
    form = await read_form(request)
    return Redirect(safe_next(form.get("next")), status_code=303)


async def account_choices(
    db_session: AsyncSession, selected: uuid.UUID | None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The accounts a token can be billed to, drivers then fleets, by name."""
    groups = []
    for kind, label in ((AccountKind.DRIVER, N_("Drivers")), (AccountKind.FLEET, N_("Fleets"))):
        rows = await accounts.search_accounts(
            db_session, kind=kind, text=None, limit=CHOICES, offset=0
        )
        groups.append((label, [(str(r.account.id), r.account.name) for r in rows]))
    listed = {value for _, options in groups for value, _ in options}
    if selected is not None and str(selected) not in listed:
        account = await accounts.get_account(db_session, selected)
        groups[0 if account.kind is AccountKind.DRIVER else 1][1].append(
            (str(account.id), account.name)
        )
    return groups


async def _token_page(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    token: IdToken | None,
    values: Mapping[str, Any],
    *,
    errors: Errors,
    status_code: int = 200,
) -> Response[str]:
    selected = values.get("account_id")
    try:
        chosen = uuid.UUID(str(selected)) if selected else None
    except ValueError:
        chosen = None
    try:
        choices = await account_choices(db_session, chosen)
    except VoltlaneError:
        choices = await account_choices(db_session, None)
    return render(
        request,
        staff,
        "portal/drivers/token_form.html",
        {
            "token": token,
            "values": values,
            "errors": errors,
            "account_choices": choices,
            # Only on this page, which only staff who manage cards may open.
            "claim_code": printed_claim_code(
                web_state(request).settings.secret_key, current_tenant(request).key, token
            )
            if token is not None
            else None,
        },
        status_code=status_code,
    )
