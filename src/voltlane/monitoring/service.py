"""Use cases of monitoring: the network's live state, alert rules, detection, alerts."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.ids import new_id
from voltlane.core.text import N_
from voltlane.models.tenant import (
    Alert,
    AlertKind,
    AlertRule,
    AlertStatus,
    StationState,
    StationStatePeriod,
)
from voltlane.monitoring.delivery import deliver
from voltlane.monitoring.errors import AlertNotFoundError, InvalidInputError, RuleNotFoundError
from voltlane.monitoring.repository import MonitoringRepository
from voltlane.monitoring.schemas import Condition, DetectionResult, LiveCounts, RuleInput
from voltlane.station import service as stations
from voltlane.tenancy import TenantInfo


@dataclass(frozen=True, slots=True)
class Threshold:
    """How a kind's threshold is read and which values a rule accepts."""

    unit: str  # minutes | hours
    low: int
    high: int

    def delta(self, value: int) -> timedelta:
        return timedelta(hours=value) if self.unit == "hours" else timedelta(minutes=value)


THRESHOLDS: dict[AlertKind, Threshold] = {
    AlertKind.OFFLINE: Threshold("minutes", 1, 10_080),
    AlertKind.FAULTED: Threshold("minutes", 0, 10_080),
    AlertKind.STUCK_SESSION: Threshold("hours", 1, 168),
    AlertKind.SECURITY: Threshold("minutes", 1, 1_440),
}
KIND_ORDER = tuple(THRESHOLDS)
MAX_EMAILS = 10
EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


# -- the dashboard ---------------------------------------------------------------------


def local_day(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The calendar day holding ``now`` in ``timezone``, as a [start, end) UTC range."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start, end


async def live_counts(
    db_session: AsyncSession, brand: TenantInfo, *, now: datetime | None = None
) -> LiveCounts:
    """Stations online, offline, faulted and charging now; energy and net revenue of the
    CDRs that ended today in the brand's timezone; alerts nobody has acknowledged yet."""
    now = now or utcnow()
    repo = MonitoringRepository(db_session)
    roster = await repo.roster()
    online = await stations.connected_stations(
        db_session, brand.key, [station_id for _, station_id, _ in roster]
    )
    start, end = local_day(now, brand.timezone)
    energy, revenue = await repo.cdr_totals(start, end, brand.currency)
    return LiveCounts(
        stations_online=len(online),
        stations_offline=len(roster) - len(online),
        stations_faulted=await repo.stations_faulted(),
        stations_charging=await repo.stations_charging(),
        energy_today_kwh=energy,
        revenue_today=revenue,
        currency=brand.currency,
        open_alerts=await repo.count_alerts(AlertStatus.OPEN),
    )


# -- rules -----------------------------------------------------------------------------


async def list_rules(db_session: AsyncSession) -> list[AlertRule]:
    """The brand's rules in a fixed order: offline, faulted, stuck session, security."""
    rules = await MonitoringRepository(db_session).rules()
    return sorted(rules, key=lambda rule: KIND_ORDER.index(rule.kind))


async def get_rule(db_session: AsyncSession, kind: str) -> AlertRule:
    try:
        alert_kind = AlertKind(kind)
    except ValueError:
        raise RuleNotFoundError(f"no alert rule {kind}") from None
    rule = await MonitoringRepository(db_session).rule(alert_kind)
    if rule is None:
        raise RuleNotFoundError(f"no alert rule {kind}")
    return rule


def _emails(text: str, errors: dict[str, str]) -> list[str]:
    emails = [part.strip() for part in re.split(r"[,;\s]+", text) if part.strip()]
    bad = [email for email in emails if not EMAIL_RE.fullmatch(email) or len(email) > 254]
    if bad:
        errors["emails"] = N_("Not an e-mail address: %(address)s", address=bad[0])
    elif len(emails) > MAX_EMAILS:
        errors["emails"] = N_("At most %(num)d addresses.", num=MAX_EMAILS)
    return list(dict.fromkeys(email.lower() for email in emails))


def _webhook_url(text: str, errors: dict[str, str]) -> str | None:
    url = text.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
        errors["webhook_url"] = N_("Enter an http:// or https:// URL of at most 500 characters.")
    return url


async def update_rule(
    db_session: AsyncSession, kind: str, data: RuleInput
) -> tuple[AlertRule, dict[str, Any]]:
    """Change a rule: on/off, threshold, e-mail recipients and webhook. Returns the rule and
    what changed; InvalidInputError names every wrong field and nothing is written."""
    rule = await get_rule(db_session, kind)
    bounds = THRESHOLDS[rule.kind]
    errors: dict[str, str] = {}
    threshold = 0
    try:
        threshold = int(data.threshold.strip())
    except ValueError:
        errors["threshold"] = N_("Enter a whole number.")
    else:
        if not bounds.low <= threshold <= bounds.high:
            errors["threshold"] = N_(
                "Enter a number from %(low)d to %(high)d.", low=bounds.low, high=bounds.high
            )
    emails = _emails(data.emails, errors)
    url = _webhook_url(data.webhook_url, errors)
    if errors:
        raise InvalidInputError(errors)
    locked = await MonitoringRepository(db_session).rule(rule.kind, for_update=True)
    assert locked is not None
    before = {
        "enabled": locked.enabled,
        "threshold": locked.threshold,
        "emails": list(locked.emails),
        "webhook_url": locked.webhook_url,
    }
    locked.enabled = data.enabled
    locked.threshold = threshold
    locked.emails = emails
    if url != locked.webhook_url:
        # A new receiver gets a new key: the old one may be known where it should not be.
        locked.webhook_secret = secrets.token_hex(32) if url else None
    locked.webhook_url = url
    after = {"enabled": data.enabled, "threshold": threshold, "emails": emails, "webhook_url": url}
    changes = {key: after[key] for key in after if after[key] != before[key]}
    await MonitoringRepository(db_session).flush()
    return locked, changes


# -- alerts ----------------------------------------------------------------------------


async def list_alerts(
    db_session: AsyncSession,
    status: AlertStatus | None,
    *,
    kind: AlertKind | None = None,
    limit: int,
    offset: int,
) -> list[Alert]:
    """Alerts newest first, optionally of one status and one kind."""
    return await MonitoringRepository(db_session).alerts(status, kind, limit=limit, offset=offset)


async def acknowledge(
    db_session: AsyncSession, alert_id: uuid.UUID, *, by: str
) -> tuple[Alert, bool]:
    """Say someone is on an open alert; True when it was open (acknowledging an alert that
    is acknowledged or resolved changes nothing)."""
    alert = await MonitoringRepository(db_session).alert(alert_id, for_update=True)
    if alert is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    if alert.status is not AlertStatus.OPEN:
        return alert, False
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = by
    await MonitoringRepository(db_session).flush()
    return alert, True


# -- detection -------------------------------------------------------------------------


async def detect(
    db_session: AsyncSession, brand: TenantInfo, *, now: datetime | None = None
) -> DetectionResult:
    """One detection pass for a brand: record which stations are online or faulted, open
    an alert for each condition of an enabled rule that has none, resolve those whose
    condition cleared, and deliver both by e-mail and webhook after commit."""
    now = now or utcnow()
    repo = MonitoringRepository(db_session)
    await repo.lock_detection(brand.key)
    roster = await repo.roster()
    in_service = {pk for pk, _, _ in roster}
    online_ids = await stations.connected_stations(
        db_session, brand.key, [station_id for _, station_id, _ in roster]
    )
    online = {pk for pk, station_id, _ in roster if station_id in online_ids}
    faulted_rows = [row for row in await repo.faulted_connectors() if row[1] in in_service]
    fault_since: dict[uuid.UUID, datetime] = {}
    for _connector, station_pk, *_where, status_at, _updated in faulted_rows:
        at = min(status_at or now, now)
        fault_since[station_pk] = min(fault_since.get(station_pk, at), at)
    await _track(repo, StationState.ONLINE, dict.fromkeys(online, now), now)
    await _track(repo, StationState.FAULTED, fault_since, now)

    rules = {rule.kind: rule for rule in await list_rules(db_session)}
    found: dict[str, Condition] = {}
    for rule in rules.values():
        if rule.enabled:
            for condition in await _conditions(
                repo, rule, roster=roster, online=online, faulted_rows=faulted_rows, now=now
            ):
                found[condition.key] = condition
    opened = resolved = 0
    live = {alert.condition_key: alert for alert in await repo.live_alerts()}
    for key, alert in live.items():
        current = found.get(key)
        if current is None:
            alert.status = AlertStatus.RESOLVED
            alert.resolved_at = now
            resolved += 1
            await deliver(db_session, brand, alert, rules.get(alert.kind), "resolved")
        elif (
            current.occurrences != alert.occurrences
            or current.detail != alert.detail
            or current.values != alert.detail_values
        ):
            alert.occurrences = current.occurrences
            alert.detail = current.detail[:200]
            alert.detail_values = current.values
    for key, condition in found.items():
        if key in live:
            continue
        alert = Alert(
            id=new_id(),
            kind=condition.kind,
            condition_key=key,
            charging_station_id=condition.station_pk,
            station_id=condition.station_id,
            detail=condition.detail[:200],
            detail_values=condition.values,
            occurrences=condition.occurrences,
            status=AlertStatus.OPEN,
            since=condition.since,
            opened_at=now,
        )
        repo.add(alert)
        opened += 1
        await deliver(db_session, brand, alert, rules[condition.kind], "opened")
    await repo.flush()
    return DetectionResult(opened=opened, resolved=resolved)


async def _track(
    repo: MonitoringRepository,
    state: StationState,
    now_in_state: dict[uuid.UUID, datetime],
    now: datetime,
) -> None:
    """Extend, end or begin each station's current period of ``state``; a period ends at
    its last sighting, so time nobody saw is never counted."""
    current = {p.charging_station_id: p for p in await repo.current_periods() if p.state == state}
    still = [p.id for pk, p in current.items() if pk in now_in_state]
    await repo.seen(still, now)
    for pk, period in current.items():
        if pk not in now_in_state:
            await repo.end_period(period.id, period.last_seen_at)
    for pk, since in now_in_state.items():
        if pk not in current:
            repo.add(
                StationStatePeriod(
                    id=new_id(),
                    charging_station_id=pk,
                    state=state,
                    started_at=since,
                    last_seen_at=now,
                )
            )


async def _conditions(
    repo: MonitoringRepository,
    rule: AlertRule,
    *,
    roster: list[Any],
    online: set[uuid.UUID],
    faulted_rows: list[Any],
    now: datetime,
) -> list[Condition]:
    threshold = THRESHOLDS[rule.kind].delta(rule.threshold)
    if rule.kind is AlertKind.OFFLINE:
        last_online = await repo.last_online()
        conditions = []
        for pk, station_id, created_at in roster:
            since = last_online.get(pk, created_at)
            if pk not in online and now - since >= threshold:
                conditions.append(Condition(f"offline:{pk}", rule.kind, pk, station_id, "", since))
        return conditions
    if rule.kind is AlertKind.FAULTED:
        conditions = []
        for connector_pk, station_pk, station_id, evse, number, error, at, updated in faulted_rows:
            since = at or updated
            if now - since >= threshold:
                where = f"EVSE {evse} connector {number}"
                detail = f"{where}: {error}" if error and error != "NoError" else where
                values = {"evse": evse, "connector": number, "error": None}
                if error and error != "NoError":
                    values["error"] = error
                conditions.append(
                    Condition(
                        f"faulted:{connector_pk}",
                        rule.kind,
                        station_pk,
                        station_id,
                        detail,
                        since,
                        values=values,
                    )
                )
        return conditions
    if rule.kind is AlertKind.STUCK_SESSION:
        return [
            Condition(f"stuck_session:{session_pk}", rule.kind, station_pk, station_id, tx, started)
            for session_pk, station_pk, station_id, tx, started in await repo.stuck_sessions(
                now - threshold, now - threshold
            )
        ]
    return [
        Condition(f"security:{pk}", rule.kind, pk, station_id, action, first, count)
        for pk, station_id, count, first, action in await repo.security_activity(now - threshold)
    ]
