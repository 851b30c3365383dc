"""CDR reconciliation: recompute a received CDR's cost and compare it with what the CPO billed.

`reconcile(cdr, time_zone=...)` takes a typed `Cdr` (parse.parse_cdr, or built from our models)
and returns a `Reconciliation`: our cost per dimension, the CDR's own totals, the differences
and a verdict. It never raises for a CDR it cannot price; that is the CANNOT_VERIFY verdict with
reasons. (OCPI: "The CDR is the only billing-relevant object"; a mismatch is for ops to look at,
never a reason to reject the CDR at protocol level.)

Contract and decisions
- The CDR carries no time zone; the caller passes the Location's `time_zone`
  (`guess_time_zone` covers single-zone countries from cdr_location.country).
- Tariff: the one the charging periods' `tariff_id` names (looked up in the CDR's embedded
  tariffs first, then in `tariffs` the caller supplies); without ids, the only tariff available.
  Periods naming different tariffs (a mid-session tariff switch, e.g. a charging profile change)
  → CANNOT_VERIFY: OCPI prices each part separately without step_size across the switch and
  says nothing on FLAT or min/max there, so we do not guess.
- Charging periods → profile: each CDR period lasts until the next one starts (the last until
  the CDR's end). RESERVATION_TIME, TIME and PARKING_TIME volumes set its state; a period with
  several of them is split in that order, the earlier parts as long as their volumes and the
  last part taking the rest of the wall-clock time. A period with none of them and energy is
  charging (with a note). ENERGY goes to the charging part; MAX/MIN_POWER and MAX/MIN_CURRENT
  carry over.
- A CDR with reservation time and no charging/parking is an expired reservation unless the
  caller says otherwise (`reservation_expired`).
- The tariff's validity window is not enforced (the CPO did bill it); a note says so.
- Comparison: each CDR figure present (total_cost, total_energy_cost, total_time_cost,
  total_parking_cost, total_fixed_cost, total_reservation_cost) against our figure rounded to
  the currency's minor unit; excl. VAT always, incl. VAT when the CDR states it. Within
  `tolerance` (absolute, default 0.01 currency units) on every compared figure → MATCH.
- Credit CDRs (`credit: true`) carry negative totals: total_cost is compared with our cost
  negated; other figures with our cost negated when the CDR's figure is negative (OCPI only
  requires total_cost to be negative, CPOs differ on the rest).
- A mismatch while our calculation lacked data (e.g. no current for a current restriction) is
  CANNOT_VERIFY rather than MISMATCH.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from roaming.iso4217 import is_currency
from roaming.pricing.currencies import round_money
from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingInputError
from roaming.pricing.types import (
    ZERO,
    Amount,
    Cdr,
    CdrChargingPeriod,
    CdrDimensionType,
    ChargingPeriod,
    ChargingProfile,
    CostBreakdown,
    CostDimension,
    PeriodState,
    Price,
    Tariff,
    TariffDimension,
)

__all__ = ["Check", "Reconciliation", "Verdict", "guess_time_zone", "profile_from_cdr", "reconcile"]

DEFAULT_TOLERANCE = Decimal("0.01")
_SECONDS_PER_HOUR = Decimal(3600)


class Verdict(StrEnum):
    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    CANNOT_VERIFY = "CANNOT_VERIFY"


@dataclass(frozen=True, slots=True)
class Check:
    """One CDR figure against ours. `difference` = CDR − ours; incl. VAT only when stated."""

    field: str  # the CDR field, e.g. "total_energy_cost"
    dimension: CostDimension | None  # None for total_cost
    cdr: Price | None
    ours: Amount | None  # rounded, sign-adjusted for credit CDRs
    difference_excl_vat: Decimal | None
    difference_incl_vat: Decimal | None
    within_tolerance: bool | None  # None when not compared


@dataclass(frozen=True, slots=True)
class Reconciliation:
    cdr_id: str
    verdict: Verdict
    reasons: tuple[str, ...]  # why MISMATCH / CANNOT_VERIFY
    notes: tuple[str, ...]  # assumptions and observations that did not decide the verdict
    checks: tuple[Check, ...]
    ours: CostBreakdown | None
    tariff_id: str | None
    tolerance: Decimal


_FIELDS: tuple[tuple[str, CostDimension | None], ...] = (
    ("total_cost", None),
    ("total_energy_cost", CostDimension.ENERGY),
    ("total_time_cost", CostDimension.TIME),
    ("total_parking_cost", CostDimension.PARKING_TIME),
    ("total_fixed_cost", CostDimension.FLAT),
    ("total_reservation_cost", CostDimension.RESERVATION),
)


def reconcile(cdr: Cdr, *, time_zone: str, tolerance: Decimal = DEFAULT_TOLERANCE, tariffs: Sequence[Tariff] = (),
              reservation_expired: bool | None = None) -> Reconciliation:
    """Recompute `cdr` and compare; never raises for a CDR it cannot price (CANNOT_VERIFY)."""
    notes: list[str] = []
    assumptions: list[str] = []

    def cannot(*reasons: str) -> Reconciliation:
        return Reconciliation(cdr.id, Verdict.CANNOT_VERIFY, tuple(reasons), tuple(notes + assumptions),
                              _checks(cdr, None, tolerance), None, None, tolerance)

    if not is_currency(cdr.currency):
        return cannot(f"unknown currency {cdr.currency!r}")
    tariff, problem = _choose_tariff(cdr, tariffs)
    if tariff is None:
        return cannot(problem)
    if tariff.currency != cdr.currency:
        return cannot(f"tariff {tariff.id!r} is in {tariff.currency}, the CDR in {cdr.currency}")
    try:
        profile = profile_from_cdr(cdr, time_zone=time_zone, reservation_expired=reservation_expired,
                                   notes=notes, assumptions=assumptions, spread_energy=_depends_on_energy(tariff))
        result = price_session(tariff, profile, check_validity=False)
    except PricingInputError as error:
        return cannot(f"cannot price the CDR's charging periods: {error}")
    ours = result.cpo
    if not ours.tariff_valid_at_start:
        notes.extend(ours.warnings[:1])
        assumptions.extend(ours.warnings[1:])
    else:
        assumptions.extend(ours.warnings)
    _compare_quantities(cdr, ours, profile, notes)
    checks = _checks(cdr, ours, tolerance)
    failed = [check for check in checks if check.within_tolerance is False]
    reasons: tuple[str, ...] = ()
    verdict = Verdict.MATCH
    if failed:
        reasons = tuple(_describe_failure(check, cdr.currency) for check in failed)
        verdict = Verdict.MISMATCH
        if assumptions:
            # We guessed missing data; a difference may be our guess, not the CPO's error.
            verdict = Verdict.CANNOT_VERIFY
            reasons = (*reasons, *(f"assumed: {assumption}" for assumption in assumptions))
    return Reconciliation(cdr.id, verdict, reasons, tuple(notes + assumptions), checks, ours, tariff.id,
                          tolerance)


def profile_from_cdr(cdr: Cdr, *, time_zone: str, reservation_expired: bool | None = None,
                     notes: list[str] | None = None, assumptions: list[str] | None = None,
                     spread_energy: bool = True) -> ChargingProfile:
    """The engine's profile for a CDR's charging periods (see the module docstring).

    `notes` collects observations, `assumptions` the data we had to guess. When no period
    carries ENERGY but total_energy does, `spread_energy` spreads it over the charging time.
    """
    notes = [] if notes is None else notes
    assumptions = [] if assumptions is None else assumptions
    periods: list[ChargingPeriod] = []
    origin: list[int] = []  # profile period → CDR charging period, for error messages
    count = len(cdr.charging_periods)
    for index, source in enumerate(cdr.charging_periods):
        end = cdr.charging_periods[index + 1].start if index + 1 < count else cdr.end
        parts = _split_period(source, index, end, assumptions)
        periods.extend(parts)
        origin.extend([index] * len(parts))
    if spread_energy and cdr.total_energy > 0 and all(period.volume(CdrDimensionType.ENERGY) is None
                                                      for period in cdr.charging_periods):
        periods = _spread_energy(periods, cdr.end, cdr.total_energy)
        assumptions.append(f"no period carries ENERGY: total_energy {cdr.total_energy} kWh spread over the "
                           "charging time")
    has_session = any(period.state is not PeriodState.RESERVATION for period in periods)
    has_reservation = any(period.state is PeriodState.RESERVATION for period in periods)
    if reservation_expired is None:
        reservation_expired = has_reservation and not has_session
        if reservation_expired:
            notes.append("reservation time without charging: priced as an expired reservation")
    try:
        return ChargingProfile(time_zone=time_zone, periods=tuple(periods), end=cdr.end,
                               reservation_expired=reservation_expired)
    except PricingInputError as error:
        match = re.match(r"periods\[(\d+)\]\.start", error.field)
        if match:
            raise PricingInputError(f"charging_periods[{origin[int(match.group(1))]}].start_date_time",
                                    error.message) from None
        if error.field == "end":
            raise PricingInputError("end_date_time", error.message) from None
        raise


def guess_time_zone(country_alpha3: str) -> str | None:
    """The IANA zone of a country with a single one (CDRs carry no time zone), else None."""
    return _SINGLE_ZONE_COUNTRIES.get(country_alpha3.upper())


# ---------------------------------------------------------------------------------------------


def _choose_tariff(cdr: Cdr, extra: Sequence[Tariff]) -> tuple[Tariff | None, str]:
    pool = [*cdr.tariffs, *extra]
    referenced = {period.tariff_id for period in cdr.charging_periods if period.tariff_id is not None}
    if len(referenced) > 1:
        return None, (f"charging periods reference {len(referenced)} tariffs ({', '.join(sorted(referenced))}); "
                      "mid-session tariff switches are not verified")
    if referenced:
        (wanted,) = referenced
        for tariff in pool:
            if tariff.id == wanted:
                return tariff, ""
        return None, f"tariff {wanted!r} named by the charging periods is not in the CDR nor supplied"
    distinct = {tariff.id: tariff for tariff in pool}
    if not distinct:
        return None, "the CDR embeds no tariff and none was supplied"
    if len(distinct) > 1:
        return None, "several tariffs and no tariff_id on the charging periods: cannot tell which applied"
    return next(iter(distinct.values())), ""


_STATE_ORDER = (
    (CdrDimensionType.RESERVATION_TIME, PeriodState.RESERVATION),
    (CdrDimensionType.TIME, PeriodState.CHARGING),
    (CdrDimensionType.PARKING_TIME, PeriodState.PARKING),
)


def _split_period(source: CdrChargingPeriod, index: int, end_of_period: datetime,
                  notes: list[str]) -> list[ChargingPeriod]:
    energy = source.volume(CdrDimensionType.ENERGY) or ZERO
    power = (
        source.volume(CdrDimensionType.MAX_POWER),
        source.volume(CdrDimensionType.MIN_POWER),
        source.volume(CdrDimensionType.MAX_CURRENT),
        source.volume(CdrDimensionType.MIN_CURRENT),
    )
    parts = [(state, volume) for kind, state in _STATE_ORDER
             if (volume := source.volume(kind)) is not None and volume > 0]
    if not parts:
        if energy <= 0 and source.volume(CdrDimensionType.PARKING_TIME) is not None:
            parts = [(PeriodState.PARKING, ZERO)]
        elif energy <= 0 and source.volume(CdrDimensionType.RESERVATION_TIME) is not None:
            parts = [(PeriodState.RESERVATION, ZERO)]
        else:
            notes.append(f"charging_periods[{index}] has no TIME, PARKING_TIME or RESERVATION_TIME volume: "
                         "assumed charging")
            parts = [(PeriodState.CHARGING, ZERO)]
    # Energy belongs to the charging part; without one, to the first part that can take it.
    receiver = next((state for state, _ in parts if state is PeriodState.CHARGING),
                    next((state for state, _ in parts if state is not PeriodState.RESERVATION), None))
    if len(parts) == 1:
        state, volume = parts[0]
        wall_clock = _seconds(end_of_period - source.start)
        if volume and abs(volume * _SECONDS_PER_HOUR - wall_clock) > 60:
            notes.append(f"charging_periods[{index}]: {state.value} volume {volume} h differs from the "
                         f"period's wall-clock length {wall_clock / _SECONDS_PER_HOUR:.3f} h; the wall clock was used")
        return [_period(source.start, state, energy if state is receiver else ZERO, power)]
    result: list[ChargingPeriod] = []
    at = source.start
    for state, volume in parts:
        if at >= end_of_period and result:
            notes.append(f"charging_periods[{index}]: volumes exceed the period's length; "
                         f"the {state.value} part was dropped")
            break
        result.append(_period(at, state, energy if state is receiver else ZERO, power))
        microseconds = (volume * _SECONDS_PER_HOUR * 1_000_000).to_integral_value()
        at = at + timedelta(microseconds=int(microseconds))
    return result


def _depends_on_energy(tariff: Tariff) -> bool:
    """Whether energy figures can change this tariff's price (ENERGY, kWh or power restrictions)."""
    for element in tariff.elements:
        if any(component.dimension is TariffDimension.ENERGY for component in element.price_components):
            return True
        r = element.restrictions
        if r is not None and any(value is not None for value in (r.min_kwh, r.max_kwh, r.min_power, r.max_power)):
            return True
    return False


def _spread_energy(periods: list[ChargingPeriod], end: datetime, total_energy: Decimal) -> list[ChargingPeriod]:
    ends = [period.start for period in periods[1:]] + [end]
    # max(…, 0): periods out of order are reported by the profile's own validation, not here.
    durations = [max(ZERO, _seconds(stop - period.start)) if period.state is PeriodState.CHARGING else ZERO
                 for period, stop in zip(periods, ends, strict=True)]
    charging_time = sum(durations, ZERO)
    if not charging_time:
        first = next((i for i, period in enumerate(periods) if period.state is PeriodState.CHARGING), None)
        if first is None:
            return periods
        durations[first] = charging_time = Decimal(1)
    return [replace(period, energy_kwh=total_energy * duration / charging_time) if duration else period
            for period, duration in zip(periods, durations, strict=True)]


def _period(start: datetime, state: PeriodState, energy: Decimal,
            power: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]) -> ChargingPeriod:
    if state is PeriodState.RESERVATION:
        return ChargingPeriod(start=start, state=state)
    max_power, min_power, max_current, min_current = power
    return ChargingPeriod(start=start, state=state, energy_kwh=energy, max_power_kw=max_power,
                          min_power_kw=min_power, max_current_a=max_current, min_current_a=min_current)


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def _compare_quantities(cdr: Cdr, ours: CostBreakdown, profile: ChargingProfile, notes: list[str]) -> None:
    if abs(cdr.total_energy - ours.energy_kwh) > Decimal("0.001"):
        notes.append(f"total_energy {cdr.total_energy} kWh differs from the periods' ENERGY sum {ours.energy_kwh} kWh; "
                     "the periods were priced")
    session_start = profile.session_start
    if session_start is not None:
        hours = _seconds(cdr.end - session_start) / _SECONDS_PER_HOUR
        if abs(cdr.total_time - hours) > Decimal("0.02"):
            notes.append(f"total_time {cdr.total_time} h differs from the session's length {hours:.3f} h")


def _checks(cdr: Cdr, ours: CostBreakdown | None, tolerance: Decimal) -> tuple[Check, ...]:
    checks = []
    for name, dimension in _FIELDS:
        theirs: Price | None = getattr(cdr, name)
        mine: Amount | None = None
        if ours is not None:
            if dimension is None:
                mine = ours.total
            else:
                dimension_cost = ours.dimensions[dimension]
                mine = Amount(dimension_cost.excl_vat, dimension_cost.incl_vat)
            negate = cdr.credit and (dimension is None or (theirs is not None and theirs.excl_vat < 0))
            if negate:
                mine = Amount(-mine.excl_vat, -mine.incl_vat)
        if theirs is None or mine is None:
            checks.append(Check(name, dimension, theirs, mine, None, None, None))
            continue
        diff_excl = theirs.excl_vat - mine.excl_vat
        diff_incl = None if theirs.incl_vat is None else theirs.incl_vat - mine.incl_vat
        within = abs(diff_excl) <= tolerance and (diff_incl is None or abs(diff_incl) <= tolerance)
        checks.append(Check(name, dimension, theirs, mine, diff_excl, diff_incl, within))
    return tuple(checks)


def _describe_failure(check: Check, currency: str) -> str:
    assert check.cdr is not None and check.ours is not None
    parts = [f"{check.field}: CDR {check.cdr.excl_vat} excl. VAT, ours {check.ours.excl_vat}"]
    if check.cdr.incl_vat is not None:
        parts.append(f"CDR {check.cdr.incl_vat} incl. VAT, ours {check.ours.incl_vat}")
    difference = check.difference_excl_vat or ZERO
    parts.append(f"difference {round_money(difference, currency)} {currency}")
    return "; ".join(parts)


_SINGLE_ZONE_COUNTRIES = {
    "AUT": "Europe/Vienna", "BEL": "Europe/Brussels", "BGR": "Europe/Sofia", "CHE": "Europe/Zurich",
    "CZE": "Europe/Prague", "DEU": "Europe/Berlin", "DNK": "Europe/Copenhagen", "EST": "Europe/Tallinn",
    "FIN": "Europe/Helsinki", "FRA": "Europe/Paris", "GBR": "Europe/London", "GRC": "Europe/Athens",
    "HRV": "Europe/Zagreb", "HUN": "Europe/Budapest", "IRL": "Europe/Dublin", "ISL": "Atlantic/Reykjavik",
    "ITA": "Europe/Rome", "LIE": "Europe/Vaduz", "LTU": "Europe/Vilnius", "LUX": "Europe/Luxembourg",
    "LVA": "Europe/Riga", "NLD": "Europe/Amsterdam", "NOR": "Europe/Oslo", "POL": "Europe/Warsaw",
    "ROU": "Europe/Bucharest", "SVK": "Europe/Bratislava", "SVN": "Europe/Ljubljana", "SWE": "Europe/Stockholm",
    "JPN": "Asia/Tokyo", "KOR": "Asia/Seoul", "IND": "Asia/Kolkata", "NZL": "Pacific/Auckland",
}
