"""Reads that are reused: tariffs as the price engine sees them, in words and as a worked example,
the tariffs a partner's chargers name that we do not hold, and a location's times and opening
hours as a driver or staff member reads them (in the charger's own time zone)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection

from roaming.models import EVSE, Connector, Location, Tariff
from roaming.pricing.currencies import format_money
from roaming.pricing.errors import PricingError
from roaming.pricing.estimate import describe_tariff, estimate_session
from roaming.pricing.parse import parse_tariff
from roaming.pricing.rules import PriceRuleSet
from roaming.pricing.types import Tariff as EngineTariff

_rule_providers: list[Callable[[], PriceRuleSet | None]] = []


def provide_driver_rules(provider: Callable[[], PriceRuleSet | None]) -> None:
    """Register where the price rules for drivers without a plan come from. The payments app owns
    them and registers itself when Django starts (roaming never imports payments)."""
    _rule_providers[:] = [provider]


def driver_rules() -> PriceRuleSet | None:
    """The default drivers' price rules, or None when no rule set is the default (or no app
    provides them): then the driver pays the CPO price."""
    return _rule_providers[0]() if _rule_providers else None


def engine_tariff(tariff: Tariff) -> EngineTariff:
    """The stored OCPI tariff as the price engine's typed object (raises PricingError)."""
    return parse_tariff(tariff.raw)


def tariff_in_words(tariff: Tariff) -> str:
    try:
        return describe_tariff(engine_tariff(tariff))
    except PricingError as error:
        return f"Cannot be priced: {error}"


def tariff_time_zone(tariff: Tariff) -> str:
    """A time zone to evaluate the tariff's restrictions in: that of the party's locations.

    Restrictions are in the charging location's local time; a tariff shared by locations in
    several zones is priced per location when a session is priced, this is for staff examples.
    """
    zone = (
        Location.objects.filter(country_code=tariff.country_code, party_id=tariff.party_id)
        .order_by("pk")
        .values_list("time_zone", flat=True)
        .first()
    )
    return zone or "UTC"


@dataclass(frozen=True)
class WorkedExample:
    error: str = ""
    cpo_excl: str = ""
    cpo_incl: str = ""
    driver_excl: str = ""
    driver_incl: str = ""
    rules_name: str = ""
    summary: str = ""


def tariff_worked_example(
    tariff: Tariff, *, rules: PriceRuleSet | None, kwh: Decimal = Decimal(30), power_kw: Decimal = Decimal(50),
    start: dt.datetime | None = None,
) -> WorkedExample:
    try:
        estimate = estimate_session(
            engine_tariff(tariff), kwh=kwh, time_zone=tariff_time_zone(tariff), connector_max_kw=power_kw, start=start, rules=rules
        )
    except PricingError as error:
        return WorkedExample(error=f"Cannot be priced: {error}")
    cpo = estimate.result.cpo.total
    driver = estimate.result.driver.total if estimate.result.driver is not None else cpo
    currency = tariff.currency
    return WorkedExample(
        cpo_excl=format_money(cpo.excl_vat, currency),
        cpo_incl=format_money(cpo.incl_vat, currency),
        driver_excl=format_money(driver.excl_vat, currency),
        driver_incl=format_money(driver.incl_vat, currency),
        rules_name=rules.name if rules is not None else "no markup rule set",
        summary=estimate.summary,
    )


@dataclass(frozen=True)
class MissingTariffs:
    """Tariff ids a partner's connectors name that we do not hold (or hold deleted): the chargers
    behind them show drivers no price."""

    tariffs: int  # distinct ids
    connectors: int  # connectors naming at least one of them
    most_used: list[tuple[str, int]]  # (key, connectors) for the most used, most first


def missing_tariffs(partner_id: int, *, most_used: int = 10) -> MissingTariffs:
    """Connector tariff ids of the partner's live EVSEs without a live Tariff of the same key (the
    location's party and the id, as `Location.make_key` writes it).

    One grouped scan of the partner's connectors (their tariff-id lists repeat: a national network
    has ~100 distinct ones in 160,000 connectors; ~0.5 s at that size), then one look at the tariffs.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT l.country_code, l.party_id, c.tariff_ids, COUNT(*) FROM "{Connector._meta.db_table}" c'  # noqa: S608 - fixed names, values bound
            f' JOIN "{EVSE._meta.db_table}" e ON e.id = c.evse_id JOIN "{Location._meta.db_table}" l ON l.id = e.location_id'
            " WHERE l.partner_id = %s AND e.status <> %s GROUP BY l.country_code, l.party_id, c.tariff_ids",
            [partner_id, EVSE.Status.REMOVED],
        )
        groups = [
            ({Location.make_key(country, party, str(tariff_id)) for tariff_id in (json.loads(ids) if isinstance(ids, str) else ids)}, int(count))
            for country, party, ids, count in cursor.fetchall()
        ]
    named = set().union(*(keys for keys, _ in groups))
    held = set(Tariff.objects.filter(key__in=named, deleted_at__isnull=True).values_list("key", flat=True)) if named else set()
    per_key: dict[str, int] = {}
    connectors = 0
    for keys, count in groups:
        lacking = keys - held
        if lacking:
            connectors += count
            for key in lacking:
                per_key[key] = per_key.get(key, 0) + count
    top = sorted(per_key.items(), key=lambda item: (-item[1], item[0]))[:most_used]
    return MissingTariffs(tariffs=len(per_key), connectors=connectors, most_used=top)


# A location's times, in its own time zone ---------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # OCPI weekday 1 is Monday


def _zone(time_zone: str) -> dt.tzinfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC  # intake refuses unknown zones; an old row is still shown, in UTC


def _clock(value: dt.datetime, zone: dt.tzinfo) -> str:
    local = value.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def local_time(value: dt.datetime | None, time_zone: str) -> str:
    """A moment as read at the charger ("29 Oct 2026, 07:41 CET"), with UTC beside it when the
    charger's clock is not on UTC then: staff compare it with partners' logs, which are in UTC."""
    if value is None:
        return "—"
    zone = _zone(time_zone)
    shown = _clock(value, zone)
    if value.astimezone(zone).utcoffset():
        shown += f" ({value.astimezone(dt.UTC):%H:%M} UTC)"
    return shown


def _period(period: dict[str, Any], zone: dt.tzinfo) -> str:
    begin = dt.datetime.fromisoformat(period["period_begin"]).astimezone(zone)
    end = dt.datetime.fromisoformat(period["period_end"]).astimezone(zone)
    if begin.date() == end.date():
        return f"{begin.day} {begin:%b %Y} {begin:%H:%M}–{end:%H:%M}"
    return f"{begin.day} {begin:%b %Y %H:%M} – {end.day} {end:%b %Y %H:%M}"


def describe_opening_times(hours: dict[str, Any] | None, time_zone: str) -> str:
    """OCPI opening_times in plain words, days grouped: "Mon–Fri 08:00–20:00; Sat 09:00–14:00; Sun
    closed." Regular hours are local times already; exceptional periods are UTC, shown locally."""
    if not hours:
        return "Opening hours not published."
    parts = []
    if hours.get("twentyfourseven"):
        parts.append("Open 24/7")
    else:
        by_day: dict[int, list[str]] = {day: [] for day in range(1, 8)}
        for period in hours.get("regular_hours") or ():
            by_day[int(period["weekday"])].append(f"{period['period_begin']}–{period['period_end']}")
        groups: list[list[Any]] = []  # [first day, last day, periods]
        for day in range(1, 8):
            periods = ", ".join(sorted(by_day[day])) or "closed"
            if groups and groups[-1][2] == periods:
                groups[-1][1] = day
            else:
                groups.append([day, day, periods])
        parts.append("; ".join(
            f"{_DAYS[first - 1] if first == last else f'{_DAYS[first - 1]}–{_DAYS[last - 1]}'} {periods}"
            for first, last, periods in groups
        ))
    zone = _zone(time_zone)
    for label, name in (("Also open", "exceptional_openings"), ("Closed", "exceptional_closings")):
        exceptional: list[dict[str, Any]] = hours.get(name) or []
        if exceptional:
            more = f" and {len(exceptional) - 3} more" if len(exceptional) > 3 else ""
            parts.append(f"{label} {', '.join(_period(p, zone) for p in exceptional[:3])}{more}")
    return ". ".join(parts) + "."
