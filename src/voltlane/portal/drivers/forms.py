"""The forms of the Drivers and Fleets pages: what staff type, checked and typed.

Each reader returns the typed values a service takes and the errors to show beside the
fields (English msgids, translated where they are shown); services check again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request

from voltlane.charging import tokens
from voltlane.models.tenant import (
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
)
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, language_name

MAX_INPUT = 500  # longer form values are cut before they are checked

Errors = dict[str, str]


@dataclass(frozen=True, slots=True)
class Text:
    """A text field of a form: its limit and the messages a person sees."""

    name: str
    limit: int
    too_long: str
    required: str | None = None  # the message when left empty; None: optional
    pattern: re.Pattern[str] | None = None
    mismatch: str | None = None


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
VAT_RE = re.compile(r"^[A-Z]{2}[A-Za-z0-9+*.]{2,30}$")

ACCOUNT_TEXT = (
    Text("name", 200, N_("At most 200 characters."), N_("Enter a name.")),
    Text(
        "email",
        254,
        N_("At most 254 characters."),
        pattern=EMAIL_RE,
        mismatch=N_("Enter an e-mail address like name@example.com."),
    ),
    Text("street", 200, N_("At most 200 characters.")),
    Text("street2", 200, N_("At most 200 characters.")),
    Text("postal_code", 20, N_("At most 20 characters.")),
    Text("city", 100, N_("At most 100 characters.")),
    Text(
        "country",
        2,
        N_("Enter a two-letter country code such as DE."),
        N_("Enter a two-letter country code such as DE."),
        COUNTRY_RE,
        N_("Enter a two-letter country code such as DE."),
    ),
    Text(
        "vat_id",
        32,
        N_("Enter a VAT id such as DE123456789."),
        pattern=VAT_RE,
        mismatch=N_("Enter a VAT id such as DE123456789."),
    ),
    Text("buyer_reference", 100, N_("At most 100 characters.")),
    Text("contract", 64, N_("At most 64 characters.")),
)
BILLING_FIELDS = ("name", "email", "street", "street2", "postal_code", "city", "country")
DRIVER_FIELDS = (*BILLING_FIELDS, "locale", "vat_id", "redeem_points")
FLEET_FIELDS = (
    *BILLING_FIELDS,
    *("locale", "vat_id", "buyer_reference", "invoicing", "payment_terms_days", "contract"),
)


def check_texts(
    form: Mapping[str, str], texts: tuple[Text, ...], fields: tuple[str, ...]
) -> tuple[dict[str, Any], Errors]:
    """The text fields of ``fields`` (empty ones as None) and the errors beside them."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    for text in texts:
        if text.name not in fields:
            continue
        value = form.get(text.name, "")
        if text.name == "country":
            value = value.upper()
        if not value:
            if text.required:
                errors[text.name] = text.required
            values[text.name] = None
        elif len(value) > text.limit:
            errors[text.name] = text.too_long
        elif text.pattern is not None and not text.pattern.match(value):
            errors[text.name] = text.mismatch or text.too_long
        else:
            values[text.name] = value
    return values, errors


def account_form(
    form: Mapping[str, str], fields: tuple[str, ...], locales: list[str]
) -> tuple[dict[str, Any], Errors]:
    """The account's new billing details from a form of ``fields``, and what is wrong."""
    values, errors = check_texts(form, ACCOUNT_TEXT, fields)
    locale = form.get("locale", "")
    if locale in locales:
        values["locale"] = locale
    else:
        errors["locale"] = N_("Choose one of the languages offered.")
    if "redeem_points" in fields:
        values["redeem_points"] = form.get("redeem_points") == "on"
    if "invoicing" in fields:
        try:
            values["invoicing"] = Invoicing(form.get("invoicing", ""))
        except ValueError:
            errors["invoicing"] = N_("Choose how the account is invoiced.")
    if "payment_terms_days" in fields:
        terms = form.get("payment_terms_days", "")
        if terms.isdigit() and 0 <= int(terms) <= 120:
            values["payment_terms_days"] = int(terms)
        else:
            errors["payment_terms_days"] = N_("Enter a number of days from 0 to 120.")
    return values, errors


def account_locales(request: Request[Any, Any, Any], account: CustomerAccount | None) -> list[str]:
    """The languages an account's documents can be written in: the brand's (and its own)."""
    brand = current_tenant(request)
    offered = list(brand.locales or [brand.locale])
    if account is not None and account.locale not in offered:
        offered.append(account.locale)
    return offered


def locale_options(
    request: Request[Any, Any, Any], account: CustomerAccount | None
) -> list[tuple[str, str]]:
    """The languages an account's form offers, as (code, name) pairs."""
    return [(code, language_name(code)) for code in account_locales(request, account)]


def account_values(account: CustomerAccount) -> dict[str, Any]:
    """What an edit form shows for an account before anything is submitted."""
    return {
        field: getattr(account, field)
        for field in (*FLEET_FIELDS, "redeem_points")
        if getattr(account, field) is not None
    } | {"invoicing": account.invoicing.value}


def changed_fields(row: CustomerAccount | IdToken, values: Mapping[str, Any]) -> list[str]:
    return sorted(field for field, value in values.items() if getattr(row, field) != value)


# -- tokens: forms and columns shared with the fleet pages -------------------------------------

TOKEN_TEXT = (
    Text(
        "id_token",
        tokens.MAX_ID_TOKEN,
        N_("At most 36 characters."),
        N_("Enter the token's identifier."),
    ),
    Text("label", tokens.MAX_LABEL, N_("At most 120 characters.")),
    Text("group_id_token", tokens.MAX_ID_TOKEN, N_("At most 36 characters.")),
    Text("driver_name", tokens.MAX_DRIVER, N_("At most 120 characters.")),
    Text("vehicle", tokens.MAX_VEHICLE, N_("At most 40 characters.")),
    Text("cost_centre", tokens.MAX_COST_CENTRE, N_("At most 60 characters.")),
)
CARD_FIELDS = ("label", "expires_at", "driver_name", "vehicle", "cost_centre")
TOKEN_FIELDS = ("id_token", "type", "status", "group_id_token", "account_id", *CARD_FIELDS)
EDIT_FIELDS = tuple(f for f in TOKEN_FIELDS if f not in {"id_token", "type", "status"})
LOCAL_TIME = "%Y-%m-%dT%H:%M"
# OCPP's own words, as stations and partners show them.


def token_form(
    form: Mapping[str, str], fields: tuple[str, ...], zone: ZoneInfo
) -> tuple[dict[str, Any], Errors]:
    """A token's values from a form of ``fields`` (expiry in the brand's local time)."""
    values, errors = check_texts(form, TOKEN_TEXT, fields)
    for name, enum, message in (
        ("type", IdTokenType, N_("Choose the kind of token.")),
        ("status", IdTokenStatus, N_("Choose a status.")),
    ):
        if name in fields:
            try:
                values[name] = enum(form.get(name, ""))
            except ValueError:
                errors[name] = message
    if "expires_at" in fields:
        expires = form.get("expires_at", "")
        try:
            values["expires_at"] = (
                datetime.strptime(expires, LOCAL_TIME).replace(tzinfo=zone) if expires else None
            )
        except ValueError:
            errors["expires_at"] = N_("Enter a date and time.")
    if "account_id" in fields:
        account = form.get("account_id", "")
        try:
            values["account_id"] = uuid.UUID(account) if account else None
        except ValueError:
            errors["account_id"] = N_("Choose an account from the list.")
    return values, errors


def token_values(token: IdToken, zone: ZoneInfo) -> dict[str, Any]:
    """What a token's edit form shows before anything is submitted."""
    return {
        "label": token.label,
        "group_id_token": token.group_id_token,
        "account_id": token.account_id,
        "driver_name": token.driver_name,
        "vehicle": token.vehicle,
        "cost_centre": token.cost_centre,
        "expires_at": (
            token.expires_at.astimezone(zone).strftime(LOCAL_TIME) if token.expires_at else None
        ),
    }


def local_zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return ZoneInfo(current_tenant(request).timezone)
