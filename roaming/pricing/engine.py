"""OCPI 2.2.1 tariff price calculation: `price_session(tariff, profile) -> PricingResult`.

Contract
- Input: a validated `Tariff` and `ChargingProfile` (types.py). Output: the CPO price per
  dimension (ENERGY, TIME, PARKING_TIME, FLAT, RESERVATION) and in total, excl. and incl. VAT,
  exact and rounded; optionally the driver price under a `PriceRuleSet` (rules.py).
- Pure function, no I/O, no Django; Decimal arithmetic throughout (never float).

How a price is found (OCPI 2.2.1 tariffs module + CDR module step_size rules)
- Element selection: per dimension, the first element in list order that has a component of
  that dimension and whose restrictions all hold at that moment; none → that dimension is free.
  Restrictions are re-evaluated continuously: every period is split wherever one can change
  inside it — a local time of day or date boundary (including both sides of a DST change), a
  min/max_duration boundary, or a min/max_kwh boundary (energy within a period is assumed to
  be delivered linearly in time to locate it).
- TIME is charged while CHARGING, PARKING_TIME while PARKING, ENERGY whenever energy flows.
- min/max_duration measure the session so far: from the first charging/parking period; for
  reservation elements, from the reservation's start. min/max_kwh count session energy so far.
- Power/current restrictions use the period's max value, else its min value; power falls back
  to the period's average (energy / time); a parking or reservation period without data counts
  as 0. A charging period without current data never matches a current restriction, and the
  result says so in `warnings`.
- day_of_week and dates are those of the local instant being priced (a 22:00–06:00 window on
  Monday night is matched against Tuesday after midnight).
- FLAT: the FLAT component active at session start (the first charging/parking moment) is
  charged once. A reservation's FLAT (active at the reservation's start) is charged in addition.
- Reservations: RESERVATION elements price reservation periods; when the profile's reservation
  expired, RESERVATION_EXPIRES elements come first and RESERVATION elements are the fallback
  (so the expiry TIME price replaces the reservation TIME price, per the spec's note). Element
  without a reservation restriction never price reservation periods, and reservation elements
  never price charging/parking.
- step_size, once per session per group, on the group's total with the step of the group's
  last active component; the round-up is billed at that last component's price:
  ENERGY (Wh); TIME+PARKING_TIME (s) — when any parking was priced only the parking total is
  rounded (charging time followed by parking is not), else the charging total; reservation TIME
  on its own. "Last active" skips free stretches (no component), so parking that becomes free
  at 20:00 rounds the priced part before 20:00 (tariff_14 example #3). step_size 0 = exact.
- VAT per component: incl = excl × (1 + vat/100); vat None = no VAT applicable (incl = excl),
  reported as `None` in `vat_rates`, distinct from 0%.
- min_price / max_price bound the session total, excl. and incl. VAT independently; a bound's
  missing incl_vat means the excl_vat figure (OCPI: no VAT applicable). Dimensions are reported
  unbounded.
- Rounding: only at the end, half-up to the currency's minor unit (per dimension and for the
  total, each from its exact figure); every exact figure is in the result too.
- Negative prices: component prices and min/max prices below zero are rejected when the tariff
  is built (types.py), as an OCPI price is never negative. Negative totals exist only in credit
  CDRs, which reconcile.py compares sign-aware.
- Tariff validity: a profile starting outside the tariff's start_date_time/end_date_time raises
  `TariffNotValidError` unless `check_validity=False`, in which case the price is computed and
  `tariff_valid_at_start` is False with a warning (reconciliation uses that: the CPO billed it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from roaming.pricing.currencies import round_money
from roaming.pricing.errors import TariffNotValidError
from roaming.pricing.rules import PriceRuleSet, apply_rules
from roaming.pricing.types import (
    ZERO,
    Amount,
    ChargingPeriod,
    ChargingProfile,
    CostBreakdown,
    CostDimension,
    CostLine,
    DimensionCost,
    PeriodState,
    PriceComponent,
    PricingResult,
    ReservationRestriction,
    Tariff,
    TariffDimension,
    TariffRestrictions,
)

__all__ = ["price_session"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
_SECONDS_PER_HOUR = Decimal(3600)
_WH_PER_KWH = Decimal(1000)
_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_MINUTES_PER_DAY = 1440
_COST_DIMENSIONS = tuple(CostDimension)

# Phases of a profile, each with its own element candidates.
_SESSION = 0
_RESERVATION = 1
_RESERVATION_EXPIRED = 2

# Step-size groups / line kinds.
_ENERGY = 0
_TIME = 1
_PARKING = 2
_RESERVATION_TIME = 3


def price_session(tariff: Tariff, profile: ChargingProfile, *, rules: PriceRuleSet | None = None,
                  check_validity: bool = True) -> PricingResult:
    """Price one session under one tariff; see the module docstring for every rule applied."""
    warnings: list[str] = []
    valid = tariff.is_valid_at(profile.start)
    if not valid:
        window = (f"from {tariff.start_date_time.isoformat() if tariff.start_date_time else '-'} "
                  f"until {tariff.end_date_time.isoformat() if tariff.end_date_time else '-'}")
        message = f"session starts at {profile.start.isoformat()}, tariff {tariff.id!r} is valid {window}"
        if check_validity:
            field = ("start_date_time" if tariff.start_date_time and profile.start < tariff.start_date_time
                     else "end_date_time")
            raise TariffNotValidError(field, message)
        warnings.append(message)
    compiled = _compile(tariff)
    cpo = _Calculation(tariff, compiled, profile, warnings, valid).run()
    driver = apply_rules(cpo, rules) if rules is not None else None
    return PricingResult(cpo=cpo, driver=driver)


# ---------------------------------------------------------------------------------------------
# Compiled tariffs: restrictions turned into fast checks, candidates per phase and dimension.


class _Check:
    """A TariffRestrictions in a form that is quick to evaluate at one moment."""

    __slots__ = ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power", "min_duration",
                 "max_duration", "days", "start_date", "end_date", "window", "uses_local", "uses_power",
                 "uses_current", "boundary_minutes")

    def __init__(self, restrictions: TariffRestrictions) -> None:
        r = restrictions
        self.min_kwh = r.min_kwh
        self.max_kwh = r.max_kwh
        self.min_current = r.min_current
        self.max_current = r.max_current
        self.min_power = r.min_power
        self.max_power = r.max_power
        self.min_duration = None if r.min_duration is None else Decimal(r.min_duration)
        self.max_duration = None if r.max_duration is None else Decimal(r.max_duration)
        self.days = frozenset(int(day) for day in r.day_of_week) or None
        self.start_date: date | None = r.start_date
        self.end_date: date | None = r.end_date
        start = None if r.start_time is None else r.start_time.hour * 60 + r.start_time.minute
        end = None if r.end_time is None else (r.end_time.hour * 60 + r.end_time.minute) or _MINUTES_PER_DAY
        self.window: tuple[int, int] | None = None
        if start is not None or end is not None:
            self.window = (start or 0, _MINUTES_PER_DAY if end is None else end)
        self.uses_local = self.window is not None or self.days is not None or r.start_date is not None \
            or r.end_date is not None
        self.uses_power = r.min_power is not None or r.max_power is not None
        self.uses_current = r.min_current is not None or r.max_current is not None
        minutes = {0} if self.uses_local else set()
        if self.window is not None:
            minutes.update(m % _MINUTES_PER_DAY for m in self.window)
        self.boundary_minutes = frozenset(minutes)

    def matches(self, moment: _Moment) -> bool:
        energy = moment.energy
        if self.min_kwh is not None and energy < self.min_kwh:
            return False
        if self.max_kwh is not None and energy >= self.max_kwh:
            return False
        duration = moment.duration
        if self.min_duration is not None and duration < self.min_duration:
            return False
        if self.max_duration is not None and duration >= self.max_duration:
            return False
        if self.uses_power:
            power = moment.power
            if power is None:
                moment.unknown("power")
                return False
            if self.min_power is not None and power < self.min_power:
                return False
            if self.max_power is not None and power >= self.max_power:
                return False
        if self.uses_current:
            current = moment.current
            if current is None:
                moment.unknown("current")
                return False
            if self.min_current is not None and current < self.min_current:
                return False
            if self.max_current is not None and current >= self.max_current:
                return False
        if self.uses_local:
            minute, weekday, day = moment.local()
            if self.days is not None and weekday not in self.days:
                return False
            if self.start_date is not None and day < self.start_date:
                return False
            if self.end_date is not None and day >= self.end_date:
                return False
            if self.window is not None:
                start, end = self.window
                if start < end:
                    return start <= minute < end
                if start > end:  # wraps past midnight
                    return minute >= start or minute < end
        return True


@dataclass(frozen=True, slots=True)
class _Candidate:
    element_index: int
    component: PriceComponent
    check: _Check | None  # None: unrestricted, always matches


@dataclass(frozen=True, slots=True)
class _Phase:
    by_dimension: dict[TariffDimension, tuple[_Candidate, ...]]
    boundary_minutes: tuple[int, ...]  # local minutes of day where a candidate can switch
    durations: tuple[Decimal, ...]  # seconds since phase start where a candidate can switch
    kwh: tuple[Decimal, ...]  # session kWh where a candidate can switch


@dataclass(frozen=True, slots=True)
class _Compiled:
    phases: tuple[_Phase, _Phase, _Phase]


_compiled_cache: dict[int, tuple[Tariff, _Compiled]] = {}


def _compile(tariff: Tariff) -> _Compiled:
    # Keyed by identity and holding the tariff itself, so an id is never reused for another
    # tariff while its entry lives; hashing a whole tariff on every call would cost more.
    hit = _compiled_cache.get(id(tariff))
    if hit is not None and hit[0] is tariff:
        return hit[1]
    compiled = _build_compiled(tariff)
    if len(_compiled_cache) >= 4096:
        _compiled_cache.clear()
    _compiled_cache[id(tariff)] = (tariff, compiled)
    return compiled


def _build_compiled(tariff: Tariff) -> _Compiled:
    session: list[tuple[int, TariffRestrictions | None]] = []
    reservation: list[tuple[int, TariffRestrictions | None]] = []
    expires: list[tuple[int, TariffRestrictions | None]] = []
    for index, element in enumerate(tariff.elements):
        restrictions = element.restrictions
        kind = None if restrictions is None else restrictions.reservation
        if kind is None:
            session.append((index, restrictions))
        elif kind is ReservationRestriction.RESERVATION:
            reservation.append((index, restrictions))
        else:
            expires.append((index, restrictions))
    return _Compiled(phases=(
        _build_phase(tariff, session),
        _build_phase(tariff, reservation),
        _build_phase(tariff, expires + reservation),
    ))


def _build_phase(tariff: Tariff, members: list[tuple[int, TariffRestrictions | None]]) -> _Phase:
    by_dimension: dict[TariffDimension, list[_Candidate]] = {dimension: [] for dimension in TariffDimension}
    minutes: set[int] = set()
    durations: set[Decimal] = set()
    kwh: set[Decimal] = set()
    for index, restrictions in members:
        check = None
        if restrictions is not None:
            check = _Check(restrictions)
            if not (check.uses_local or check.uses_power or check.uses_current or check.min_kwh is not None
                    or check.max_kwh is not None or check.min_duration is not None
                    or check.max_duration is not None):
                check = None  # e.g. only a reservation restriction: always matches within its phase
        if check is not None:
            minutes.update(check.boundary_minutes)
            durations.update(value for value in (check.min_duration, check.max_duration) if value is not None)
            kwh.update(value for value in (check.min_kwh, check.max_kwh) if value is not None)
        for component in tariff.elements[index].price_components:
            by_dimension[component.dimension].append(_Candidate(index, component, check))
    return _Phase(
        by_dimension={dimension: tuple(candidates) for dimension, candidates in by_dimension.items()},
        boundary_minutes=tuple(sorted(minutes)),
        durations=tuple(sorted(durations)),
        kwh=tuple(sorted(kwh)),
    )


# ---------------------------------------------------------------------------------------------
# Local time


def _to_seconds(moment: datetime) -> Decimal:
    delta = moment - _EPOCH
    whole = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return Decimal(whole) + Decimal(delta.microseconds).scaleb(-6)
    return Decimal(whole)


def _to_datetime(seconds: Decimal) -> datetime:
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return _EPOCH + timedelta(seconds=whole, microseconds=micro)


def _instant(local: datetime) -> int:
    return (local - _EPOCH) // _ONE_SECOND


@lru_cache(maxsize=16384)
def _local_fields(zone: ZoneInfo, instant: int) -> tuple[int, int, date]:
    local = datetime.fromtimestamp(instant, tz=zone)
    return local.hour * 60 + local.minute, local.weekday(), local.date()


@lru_cache(maxsize=16384)
def _day_boundaries(zone: ZoneInfo, day: date, minutes: tuple[int, ...]) -> tuple[int, ...]:
    """UTC instants (s) on local `day` where a restriction on these local minutes can flip.

    On a day with a DST change a wall-clock time can occur twice (fall back) or never (spring
    forward); both folds and the change itself are boundaries, so between two consecutive ones
    the local wall clock runs forward without crossing any of `minutes`.
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    next_midnight = datetime(following.year, following.month, following.day, tzinfo=zone)
    start, stop = _instant(midnight), _instant(next_midnight)
    before, after = midnight.utcoffset(), next_midnight.utcoffset()
    if before == after and stop - start == 86400:
        return tuple(start + minute * 60 for minute in minutes)
    found: set[int] = set()
    for minute in minutes:
        for fold in (0, 1):
            wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone, fold=fold)
            found.add(_instant(wall))
    low, high = start, stop
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz=zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    found.add(high)
    return tuple(sorted(found))


# ---------------------------------------------------------------------------------------------
# The calculation


class _Moment:
    """The state at the start of a stretch: what restrictions are evaluated against."""

    __slots__ = ("energy", "duration", "power", "current", "instant", "zone", "calculation", "period_index",
                 "_local")

    def __init__(self, energy: Decimal, duration: Decimal, power: Decimal | None, current: Decimal | None,
                 instant: Decimal, zone: ZoneInfo, calculation: _Calculation, period_index: int) -> None:
        self.energy = energy
        self.duration = duration
        self.power = power
        self.current = current
        self.instant = instant
        self.zone = zone
        self.calculation = calculation
        self.period_index = period_index
        self._local: tuple[int, int, date] | None = None

    def local(self) -> tuple[int, int, date]:
        # Restrictions are whole minutes, so the floor of the instant decides them exactly.
        if self._local is None:
            self._local = _local_fields(self.zone, int(self.instant.to_integral_value(rounding=ROUND_FLOOR)))
        return self._local

    def unknown(self, what: str) -> None:
        self.calculation.warn(f"periods[{self.period_index}] has no {what} data; elements restricted on "
                              f"{what} were skipped for it")


class _LineBuilder:
    __slots__ = ("candidate", "start", "end", "volume", "extra")

    def __init__(self, candidate: _Candidate, start: Decimal, end: Decimal, volume: Decimal) -> None:
        self.candidate = candidate
        self.start = start
        self.end = end
        self.volume = volume  # kWh or seconds
        self.extra = ZERO  # step_size round-up, same unit


# Per state: the energy dimension priced (None: none) and the time group and dimension.
_STATE_DIMENSIONS: dict[PeriodState, tuple[TariffDimension | None, int, TariffDimension]] = {
    PeriodState.CHARGING: (TariffDimension.ENERGY, _TIME, TariffDimension.TIME),
    PeriodState.PARKING: (TariffDimension.ENERGY, _PARKING, TariffDimension.PARKING_TIME),
    PeriodState.RESERVATION: (None, _RESERVATION_TIME, TariffDimension.TIME),
}


class _Calculation:
    def __init__(self, tariff: Tariff, compiled: _Compiled, profile: ChargingProfile, warnings: list[str],
                 valid: bool) -> None:
        self.tariff = tariff
        self.valid = valid
        self.compiled = compiled
        self.profile = profile
        self.zone = profile.zone
        self.warnings = warnings
        self.groups: tuple[list[_LineBuilder], ...] = ([], [], [], [])
        self.flats: list[tuple[CostDimension, _Candidate, Decimal]] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def run(self) -> CostBreakdown:
        profile = self.profile
        periods = profile.periods
        reservation_phase = _RESERVATION_EXPIRED if profile.reservation_expired else _RESERVATION
        starts = [_to_seconds(period.start) for period in periods]
        starts.append(_to_seconds(profile.end))
        session_energy = ZERO
        phase_start: Decimal | None = None
        current_phase = -1
        for index, period in enumerate(periods):
            phase = reservation_phase if period.state is PeriodState.RESERVATION else _SESSION
            if phase != current_phase:
                current_phase = phase
                phase_start = starts[index]
                flat_candidates = self.compiled.phases[phase].by_dimension[TariffDimension.FLAT]
                if flat_candidates:
                    moment = self._moment(period, index, starts[index], starts[index + 1], ZERO, ZERO)
                    flat = _select(flat_candidates, moment)
                    if flat is not None:
                        dimension = CostDimension.FLAT if phase == _SESSION else CostDimension.RESERVATION
                        self.flats.append((dimension, flat, starts[index]))
            assert phase_start is not None
            self._price_period(period, index, self.compiled.phases[phase], starts[index], starts[index + 1],
                               phase_start, session_energy)
            session_energy += period.energy_kwh
        return self._finish(session_energy)

    def _moment(self, period: ChargingPeriod, index: int, start: Decimal, end: Decimal, energy: Decimal,
                duration: Decimal) -> _Moment:
        charging = period.state is PeriodState.CHARGING
        power = period.max_power_kw if period.max_power_kw is not None else period.min_power_kw
        if power is None:
            if end > start:
                power = period.energy_kwh * _SECONDS_PER_HOUR / (end - start)
            elif not charging:
                power = ZERO
        current = period.max_current_a if period.max_current_a is not None else period.min_current_a
        if current is None and not charging:
            current = ZERO
        return _Moment(energy, duration, power, current, start, self.zone, self, index)

    def _price_period(self, period: ChargingPeriod, index: int, phase: _Phase, start: Decimal, end: Decimal,
                      phase_start: Decimal, energy_before: Decimal) -> None:
        energy = period.energy_kwh
        points = self._split_points(phase, start, end, phase_start, energy_before, energy)
        energy_dimension, time_group, time_dimension = _STATE_DIMENSIONS[period.state]
        energy_candidates = phase.by_dimension[energy_dimension] if energy_dimension is not None else ()
        time_candidates = phase.by_dimension[time_dimension]
        template = self._moment(period, index, start, end, energy_before, start - phase_start)
        for (point_start, energy_at_start), (point_end, energy_at_end) in zip(points, points[1:], strict=False):
            delivered = energy_at_end - energy_at_start
            elapsed = point_end - point_start
            if not delivered and not elapsed:
                continue
            moment = _Moment(energy_at_start, point_start - phase_start, template.power, template.current,
                             point_start, self.zone, self, index)
            if delivered and energy_candidates:
                chosen = _select(energy_candidates, moment)
                if chosen is not None:
                    self._add(_ENERGY, chosen, point_start, point_end, delivered)
            if elapsed and time_candidates:
                chosen = _select(time_candidates, moment)
                if chosen is not None:
                    self._add(time_group, chosen, point_start, point_end, elapsed)

    def _split_points(self, phase: _Phase, start: Decimal, end: Decimal, phase_start: Decimal,
                      energy_before: Decimal, energy: Decimal) -> list[tuple[Decimal, Decimal]]:
        """Instants inside [start, end] where some candidate may switch, with session kWh there."""
        energy_after = energy_before + energy
        if end <= start:
            return [(start, energy_before), (end, energy_after)]
        cuts: dict[Decimal, Decimal | None] = {}
        if phase.boundary_minutes:
            first = int(start.to_integral_value(rounding=ROUND_FLOOR))
            last = int(end.to_integral_value(rounding=ROUND_CEILING))
            day = _local_fields(self.zone, first)[2]
            last_day = _local_fields(self.zone, last)[2]
            while day <= last_day:
                for boundary in _day_boundaries(self.zone, day, phase.boundary_minutes):
                    if start < boundary < end:
                        cuts.setdefault(Decimal(boundary), None)
                day += timedelta(days=1)
        for threshold in phase.durations:
            instant = phase_start + threshold
            if start < instant < end:
                cuts.setdefault(instant, None)
        if energy:
            for threshold in phase.kwh:
                if energy_before < threshold < energy_after:
                    instant = start + (threshold - energy_before) / energy * (end - start)
                    if start < instant < end:
                        cuts[instant] = threshold
        if not cuts:
            return [(start, energy_before), (end, energy_after)]
        points = [(start, energy_before)]
        span = end - start
        previous = energy_before
        for instant in sorted(cuts):
            exact = cuts[instant]
            at = exact if exact is not None else energy_before + energy * (instant - start) / span
            # Decimal division can land a hair below a kWh threshold that an earlier cut hit
            # exactly; session energy never goes down.
            previous = max(previous, at)
            points.append((instant, previous))
        points.append((end, energy_after))
        return points

    def _add(self, group: int, candidate: _Candidate, start: Decimal, end: Decimal, volume: Decimal) -> None:
        lines = self.groups[group]
        if lines:
            last = lines[-1]
            if last.candidate is candidate and last.end == start:
                last.end = end
                last.volume += volume
                return
        lines.append(_LineBuilder(candidate, start, end, volume))

    # --- step_size, costs, totals -------------------------------------------------------------

    def _finish(self, session_energy: Decimal) -> CostBreakdown:
        energy_lines, time_lines, parking_lines, reservation_lines = self.groups
        _round_up_last(energy_lines, _WH_PER_KWH)
        _round_up_last(parking_lines if parking_lines else time_lines, _ONE)
        _round_up_last(reservation_lines, _ONE)

        lines: list[CostLine] = []
        for dimension, candidate, at in self.flats:
            moment = _to_datetime(at)
            component = candidate.component
            lines.append(_cost_line(dimension, candidate, moment, moment, _ONE, _ONE, component.price))
        for group, dimension in ((_ENERGY, CostDimension.ENERGY), (_TIME, CostDimension.TIME),
                                 (_PARKING, CostDimension.PARKING_TIME),
                                 (_RESERVATION_TIME, CostDimension.RESERVATION)):
            for builder in self.groups[group]:
                component = builder.candidate.component
                billed = builder.volume + builder.extra
                if group == _ENERGY:
                    volume, billed_volume = builder.volume, billed
                    excl = component.price * billed
                else:
                    volume, billed_volume = builder.volume / _SECONDS_PER_HOUR, billed / _SECONDS_PER_HOUR
                    excl = component.price * billed / _SECONDS_PER_HOUR
                lines.append(_cost_line(dimension, builder.candidate, _to_datetime(builder.start),
                                        _to_datetime(builder.end), volume, billed_volume, excl))
        lines.sort(key=lambda line: line.start)
        return self._breakdown(lines, session_energy)

    def _breakdown(self, lines: list[CostLine], session_energy: Decimal) -> CostBreakdown:
        currency = self.tariff.currency
        sums: dict[CostDimension, list[Decimal]] = {dimension: [ZERO, ZERO, ZERO, ZERO]
                                                    for dimension in _COST_DIMENSIONS}
        rates: dict[CostDimension, list[Decimal | None]] = {dimension: [] for dimension in _COST_DIMENSIONS}
        for line in lines:
            accumulated = sums[line.cost_dimension]
            accumulated[0] += line.excl_vat
            accumulated[1] += line.incl_vat
            if line.tariff_dimension is not TariffDimension.FLAT or line.cost_dimension is CostDimension.FLAT:
                accumulated[2] += line.volume
                accumulated[3] += line.billed_volume
            if line.vat_rate not in rates[line.cost_dimension]:
                rates[line.cost_dimension].append(line.vat_rate)
        dimensions = {
            dimension: DimensionCost(
                dimension=dimension,
                excl_vat=round_money(excl, currency),
                incl_vat=round_money(incl, currency),
                exact_excl_vat=excl,
                exact_incl_vat=incl,
                volume=volume,
                billed_volume=billed,
                vat_rates=tuple(rates[dimension]),
            )
            for dimension, (excl, incl, volume, billed) in sums.items()
        }
        total_excl = sum((values[0] for values in sums.values()), ZERO)
        total_incl = sum((values[1] for values in sums.values()), ZERO)
        uncapped = Amount(total_excl, total_incl)
        min_applied = max_applied = False
        minimum, maximum = self.tariff.min_price, self.tariff.max_price
        if minimum is not None:
            if total_excl < minimum.excl_vat:
                total_excl, min_applied = minimum.excl_vat, True
            if total_incl < minimum.incl_or_excl:
                total_incl, min_applied = minimum.incl_or_excl, True
        if maximum is not None:
            if total_excl > maximum.excl_vat:
                total_excl, max_applied = maximum.excl_vat, True
            if total_incl > maximum.incl_or_excl:
                total_incl, max_applied = maximum.incl_or_excl, True
        return CostBreakdown(
            tariff_id=self.tariff.id,
            currency=currency,
            dimensions=dimensions,
            lines=tuple(lines),
            total=Amount(round_money(total_excl, currency), round_money(total_incl, currency)),
            exact_total=Amount(total_excl, total_incl),
            uncapped_total=uncapped,
            min_price_applied=min_applied,
            max_price_applied=max_applied,
            energy_kwh=session_energy,
            tariff_valid_at_start=self.valid,
            warnings=tuple(self.warnings),
        )


def _select(candidates: tuple[_Candidate, ...], moment: _Moment) -> _Candidate | None:
    for candidate in candidates:
        check = candidate.check
        if check is None or check.matches(moment):
            return candidate
    return None


def _round_up_last(lines: list[_LineBuilder], unit: Decimal) -> None:
    """Round the group's total up to the last line's step_size, billing the extra on that line.

    `unit` converts the lines' volume to step units (kWh → Wh; seconds stay seconds).
    """
    if not lines:
        return
    last = lines[-1]
    step = last.candidate.component.step_size
    if not step:
        return
    total = sum((line.volume for line in lines), ZERO) * unit
    rounded = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
    last.extra = (rounded - total) / unit


def _cost_line(dimension: CostDimension, candidate: _Candidate, start: datetime, end: datetime, volume: Decimal,
               billed_volume: Decimal, excl: Decimal) -> CostLine:
    component = candidate.component
    incl = excl if component.vat is None else excl * (_ONE + component.vat / _HUNDRED)
    return CostLine(
        cost_dimension=dimension,
        tariff_dimension=component.dimension,
        element_index=candidate.element_index,
        price=component.price,
        vat_rate=component.vat,
        step_size=component.step_size,
        start=start,
        end=end,
        volume=volume,
        billed_volume=billed_volume,
        excl_vat=excl,
        incl_vat=incl,
    )
