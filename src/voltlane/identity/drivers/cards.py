"""A driver's RFID cards: the ones billed to their account, blocking and unblocking them,
and linking a card the brand issued without an account.

Linking needs the number printed on the card and its claim code, printed with it on the
card's carrier. The id token model has no column for such a code, so it is derived: the
first 6 decimal digits of an HMAC-SHA256 of the card (brand, type, number) under the
platform's secret key. The brand prints ``claim_code(...)`` when it issues cards; nobody can
compute it without the key, and guesses are throttled (5 failed claims an hour per account
and per client address), so a number read off someone else's card is not enough.

A driver may unblock only a card they blocked themselves: a card the brand blocked (in the
portal, or after failed payment retries) stays blocked until the brand unblocks it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import ConflictError, RateLimitedError
from voltlane.core.text import N_
from voltlane.identity import throttle
from voltlane.identity.drivers.errors import CardNotFoundError, DriverFormError
from voltlane.identity.drivers.repository import RFID_TYPES, DriverRepository
from voltlane.identity.service import audit
from voltlane.models.tenant import IdToken, IdTokenStatus

CLAIM_CODE_DIGITS = 6
CLAIM_MAX_FAILURES = 5
CLAIM_WINDOW = timedelta(hours=1)
MAX_NUMBER = 36
BLOCKED_BY_DRIVER = "driver.card.block"


class CardBlockedByBrandError(ConflictError):
    title = "Card blocked by the brand"


def claim_code(secret_key: str, tenant_key: str, card: IdToken) -> str:
    """The 6-digit code printed with a card the brand issues without an account."""
    mac = hmac.new(
        secret_key.encode(),
        f"card-claim:{tenant_key}:{card.type.value}:{card.id_token}".encode(),
        hashlib.sha256,
    )
    return str(int.from_bytes(mac.digest()[:8], "big") % 10**CLAIM_CODE_DIGITS).zfill(
        CLAIM_CODE_DIGITS
    )


def printed_claim_code(secret_key: str, tenant_key: str, card: IdToken) -> str | None:
    """The claim code staff print with ``card`` for a driver to link it in the app; None
    for a card already billed to an account or no RFID card, which no driver can claim."""
    if card.account_id is not None or card.type not in RFID_TYPES:
        return None
    return claim_code(secret_key, tenant_key, card)


async def cards_of(db_session: AsyncSession, account_id: uuid.UUID) -> list[IdToken]:
    """The cards billed to the account, oldest first."""
    return await DriverRepository(db_session).cards_of(account_id)


async def _own_card(repo: DriverRepository, account_id: uuid.UUID, card_id: uuid.UUID) -> IdToken:
    card = await repo.card_of(account_id, card_id)
    if card is None:
        raise CardNotFoundError(f"no card {card_id}")
    return card


async def block_card(
    db_session: AsyncSession, account_id: uuid.UUID, card_id: uuid.UUID, *, ip: str | None
) -> IdToken:
    """Block one of the driver's cards (lost, stolen): its next authorization is refused."""
    card = await _own_card(DriverRepository(db_session), account_id, card_id)
    if card.status is IdTokenStatus.ACCEPTED:
        card.status = IdTokenStatus.BLOCKED
        await _audit(db_session, BLOCKED_BY_DRIVER, card, account_id, ip)
    await db_session.flush()
    return card


async def unblock_card(
    db_session: AsyncSession, account_id: uuid.UUID, card_id: uuid.UUID, *, ip: str | None
) -> IdToken:
    """Unblock a card the driver blocked themselves; CardBlockedByBrandError otherwise."""
    repo = DriverRepository(db_session)
    card = await _own_card(repo, account_id, card_id)
    if card.status is IdTokenStatus.ACCEPTED:
        return card
    if (
        card.status is not IdTokenStatus.BLOCKED
        or await repo.latest_card_action(card.id) != BLOCKED_BY_DRIVER
        or await repo.has_exhausted_dunning(card)
    ):
        raise CardBlockedByBrandError(
            N_("This card was blocked by us. Please contact us to unblock it."), field="card"
        )
    card.status = IdTokenStatus.ACCEPTED
    await _audit(db_session, "driver.card.unblock", card, account_id, ip)
    await db_session.flush()
    return card


async def claim_card(
    db_session: AsyncSession,
    account_id: uuid.UUID,
    *,
    number: str,
    code: str,
    secret_key: str,
    tenant_key: str,
    ip: str | None,
) -> IdToken:
    """Bill an unassigned card of the brand to the driver's account, given the number and
    the claim code printed with it. Every refusal reads the same (no card numbers can be
    probed); failures are throttled and recorded, so the caller commits on refusal too."""
    number = number.strip().replace(" ", "")
    code = code.strip().replace(" ", "")
    errors: dict[str, str] = {}
    if not 1 <= len(number) <= MAX_NUMBER or not number.isprintable():
        errors["number"] = N_("Enter the number printed on the card.")
    if len(code) != CLAIM_CODE_DIGITS or not code.isdigit():
        errors["code"] = N_("Enter the 6-digit code printed with the card.")
    if errors:
        raise DriverFormError(errors)
    key = f"card:{account_id}"
    wait = await throttle.retry_after(
        db_session, key=key, ip=ip, max_failures=CLAIM_MAX_FAILURES, window=CLAIM_WINDOW
    )
    if wait is not None:
        raise RateLimitedError(
            N_("Too many attempts to link a card. Try again later."), retry_after=wait
        )
    repo = DriverRepository(db_session)
    card = await repo.rfid_card(number)
    claimable = (
        card is not None
        and card.account_id is None
        and card.status is IdTokenStatus.ACCEPTED
        and hmac.compare_digest(claim_code(secret_key, tenant_key, card), code)
    )
    throttle.record_attempt(db_session, key=key, ip=ip, succeeded=claimable)
    if not claimable or card is None:
        raise DriverFormError(
            {"code": N_("This card cannot be linked. Check the number and the code.")}
        )
    card.account_id = account_id
    await _audit(db_session, "driver.card.link", card, account_id, ip)
    await db_session.flush()
    return card


async def _audit(
    db_session: AsyncSession,
    action: str,
    card: IdToken,
    account_id: uuid.UUID,
    ip: str | None,
) -> None:
    # The driver acted, not staff: the account id stands for them, never their address.
    await audit(
        db_session,
        action=action,
        entity="id_token",
        entity_id=card.id,
        detail={"account_id": str(account_id)},
        ip=ip,
    )
