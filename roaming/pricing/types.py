"""Typed, immutable inputs and results of the tariff engine (OCPI 2.2.1 semantics, no JSON).

Inputs validate themselves on construction and raise `PricingInputError` naming the field, so
an object that exists is one the engine can price. `parse.py` builds them from OCPI JSON; the
Django side may also build them directly from its models.

Units follow OCPI: energy in kWh, power in kW, current in A (summed over phases), durations in
seconds for restrictions, prices per kWh / per hour / per session, excl. VAT, VAT in percent.
All amounts are `Decimal`; a float anywhere in here is a bug.

Decisions recorded here because they are properties of the data:
- `PriceComponent.vat is None` means "no VAT applicable" (OCPI), which is not the same as 0%:
  both give incl = excl, but results keep `None` so an invoice can say which one it was.
- Negative component prices and negative min/max prices are rejected: OCPI prices are
  non-negative, and a discount in a CPO tariff would more likely be a data error than intent.
  (Credit CDRs carry negative *totals*; those are accepted by `reconcile.py`, not here.)
- A restriction range whose end is before its start (max_kwh < min_kwh, end_date < start_date,
  …) is an error; a time-of-day window whose end_time is before its start_time wraps past
  midnight (OCPI), and end_time "00:00" means end of day. start_time == end_time means the
  whole day.
- Reservation elements may only price FLAT and TIME (OCPI); anything else is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from roaming.iso4217 import is_currency
from roaming.pricing.errors import PricingInputError

ZERO = Decimal(0)


class TariffDimension(StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class ReservationRestriction(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class DayOfWeek(IntEnum):
    """Numbered like `datetime.weekday()` so a local date maps to it without a lookup."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class PeriodState(StrEnum):
    CHARGING = "CHARGING"  # vehicle takes (or requests) energy: TIME applies
    PARKING = "PARKING"  # connected, not requesting power: PARKING_TIME applies
    RESERVATION = "RESERVATION"  # reserved, not yet charging: reservation TIME applies


class CostDimension(StrEnum):
    """How results are grouped; matches the CDR's total_*_cost fields."""

    ENERGY = "ENERGY"  # total_energy_cost
    TIME = "TIME"  # total_time_cost (charging time)
    PARKING_TIME = "PARKING_TIME"  # total_parking_cost
    FLAT = "FLAT"  # total_fixed_cost (session start fee)
    RESERVATION = "RESERVATION"  # total_reservation_cost (reservation TIME + FLAT)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PricingInputError(name, "must be a timezone-aware datetime (OCPI DateTimes are UTC)")


def _require_non_negative(value: Decimal | int | None, name: str) -> None:
    if value is not None and value < 0:
        raise PricingInputError(name, f"must not be negative (got {value})")


def _require_ordered(low: Decimal | int | date | None, high: Decimal | int | date | None, low_name: str,
                     high_name: str) -> None:
    if low is not None and high is not None and high < low:  # type: ignore[operator]
        relation = "before" if isinstance(high, date) else "below"
        raise PricingInputError(high_name, f"{high} is {relation} {low_name} {low}")


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price: incl_vat omitted means no VAT applicable, i.e. the same as excl_vat."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None

    @property
    def incl_or_excl(self) -> Decimal:
        return self.excl_vat if self.incl_vat is None else self.incl_vat


@dataclass(frozen=True, slots=True)
class Amount:
    """A computed money amount, both sides always present."""

    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True, slots=True)
class PriceComponent:
    dimension: TariffDimension
    price: Decimal  # per kWh (ENERGY), per hour (TIME, PARKING_TIME), per session (FLAT); excl. VAT
    step_size: int  # Wh for ENERGY, seconds for TIME/PARKING_TIME; 0 = no rounding
    vat: Decimal | None = None  # percent; None = no VAT applicable (≠ 0%)

    def __post_init__(self) -> None:
        _require_non_negative(self.price, "price")
        _require_non_negative(self.step_size, "step_size")
        _require_non_negative(self.vat, "vat")


@dataclass(frozen=True, slots=True)
class TariffRestrictions:
    start_time: time | None = None  # local, inclusive
    end_time: time | None = None  # local, exclusive; 00:00 = end of day; < start_time wraps
    start_date: date | None = None  # local, inclusive
    end_date: date | None = None  # local, exclusive
    min_kwh: Decimal | None = None  # session energy so far, inclusive
    max_kwh: Decimal | None = None  # exclusive
    min_current: Decimal | None = None  # A, inclusive
    max_current: Decimal | None = None  # A, exclusive
    min_power: Decimal | None = None  # kW, inclusive
    max_power: Decimal | None = None  # kW, exclusive
    min_duration: int | None = None  # seconds of session so far, inclusive
    max_duration: int | None = None  # exclusive
    day_of_week: frozenset[DayOfWeek] = frozenset()
    reservation: ReservationRestriction | None = None

    def __post_init__(self) -> None:
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power",
                     "min_duration", "max_duration"):
            _require_non_negative(getattr(self, name), name)
        _require_ordered(self.start_date, self.end_date, "start_date", "end_date")
        _require_ordered(self.min_kwh, self.max_kwh, "min_kwh", "max_kwh")
        _require_ordered(self.min_current, self.max_current, "min_current", "max_current")
        _require_ordered(self.min_power, self.max_power, "min_power", "max_power")
        _require_ordered(self.min_duration, self.max_duration, "min_duration", "max_duration")
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and (value.second or value.microsecond):
                raise PricingInputError(name, "must be whole minutes (HH:MM)")


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions | None = None

    def __post_init__(self) -> None:
        if not self.price_components:
            raise PricingInputError("price_components", "a tariff element needs at least one price component")
        if self.restrictions is not None and self.restrictions.reservation is not None:
            for index, component in enumerate(self.price_components):
                if component.dimension not in (TariffDimension.FLAT, TariffDimension.TIME):
                    raise PricingInputError(
                        f"price_components[{index}].type",
                        f"a reservation element may only price FLAT and TIME, not {component.dimension.value}",
                    )


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None  # validity, UTC
    end_date_time: datetime | None = None
    country_code: str = ""
    party_id: str = ""
    type: str | None = None  # OCPI TariffType, informational here
    alt_text: tuple[tuple[str, str], ...] = ()  # (language, text)
    alt_url: str | None = None

    def __post_init__(self) -> None:
        if not is_currency(self.currency):
            raise PricingInputError("currency", f"unknown currency {self.currency!r} (not an ISO 4217 currency)")
        if not self.elements:
            raise PricingInputError("elements", "a tariff needs at least one element")
        for name in ("min_price", "max_price"):
            price = getattr(self, name)
            if price is not None:
                _require_non_negative(price.excl_vat, f"{name}.excl_vat")
                _require_non_negative(price.incl_vat, f"{name}.incl_vat")
        if self.min_price is not None and self.max_price is not None:
            if self.max_price.excl_vat < self.min_price.excl_vat:
                raise PricingInputError("max_price.excl_vat", "is below min_price.excl_vat")
            if self.max_price.incl_or_excl < self.min_price.incl_or_excl:
                raise PricingInputError("max_price.incl_vat", "is below min_price.incl_vat")
        for name in ("start_date_time", "end_date_time"):
            value = getattr(self, name)
            if value is not None:
                _require_aware(value, name)
        _require_ordered(self.start_date_time, self.end_date_time, "start_date_time",  # type: ignore[arg-type]
                         "end_date_time")

    def is_valid_at(self, moment: datetime) -> bool:
        """start_date_time inclusive; end_date_time is "the time after which it is no longer valid"."""
        if self.start_date_time is not None and moment < self.start_date_time:
            return False
        return not (self.end_date_time is not None and moment > self.end_date_time)


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """One stretch of the session with constant state, like an OCPI CDR ChargingPeriod.

    It lasts until the next period's start (the last one until the profile's end).
    `energy_kwh` is the energy delivered during this period; within it, delivery is assumed
    linear in time when a kWh restriction boundary has to be located inside the period.
    Power/current: the engine checks restrictions against max_* when given, else min_*; a
    missing power falls back to the period's average power (energy / duration).
    """

    start: datetime
    state: PeriodState = PeriodState.CHARGING
    energy_kwh: Decimal = ZERO
    max_power_kw: Decimal | None = None
    min_power_kw: Decimal | None = None
    max_current_a: Decimal | None = None
    min_current_a: Decimal | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        for name in ("energy_kwh", "max_power_kw", "min_power_kw", "max_current_a", "min_current_a"):
            _require_non_negative(getattr(self, name), name)
        if self.state is PeriodState.RESERVATION and self.energy_kwh:
            raise PricingInputError("energy_kwh", "a reservation period cannot deliver energy")


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or PricingInputError("time_zone") when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise PricingInputError("time_zone", f"unknown IANA time zone {name!r}") from None


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    """A whole session: optional reservation periods first, then charging/parking periods.

    `time_zone` is the Location's IANA zone; every time/date/day restriction is evaluated in it.
    `reservation_expired` says the reservation ended unused (RESERVATION_EXPIRES pricing); such a
    profile holds reservation periods only.
    Periods must start strictly one after the other: an earlier start is "out of order", an
    equal start "overlapping" (two periods claiming the same instant), and `end` must not be
    before the last start.
    """

    time_zone: str
    periods: tuple[ChargingPeriod, ...]
    end: datetime
    reservation_expired: bool = False
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", load_zone(self.time_zone))
        if not self.periods:
            raise PricingInputError("periods", "a profile needs at least one period")
        _require_aware(self.end, "end")
        previous: datetime | None = None
        charging_started = False
        for index, period in enumerate(self.periods):
            if previous is not None:
                if period.start < previous:
                    raise PricingInputError(f"periods[{index}].start",
                                            f"out of order: {period.start.isoformat()} is before the previous period")
                if period.start == previous:
                    raise PricingInputError(f"periods[{index}].start",
                                            f"overlapping: starts at the same instant as the previous period "
                                            f"({period.start.isoformat()})")
            previous = period.start
            if period.state is PeriodState.RESERVATION:
                if charging_started:
                    raise PricingInputError(f"periods[{index}].state",
                                            "a reservation period cannot follow charging or parking")
            else:
                charging_started = True
        if previous is not None and self.end < previous:
            raise PricingInputError("end", f"{self.end.isoformat()} is before the last period's start")
        if self.reservation_expired and charging_started:
            raise PricingInputError("reservation_expired",
                                    "an expired reservation cannot have charging or parking periods")

    @property
    def start(self) -> datetime:
        return self.periods[0].start

    @property
    def session_start(self) -> datetime | None:
        """Start of charging/parking (after any reservation); None for a reservation only."""
        for period in self.periods:
            if period.state is not PeriodState.RESERVATION:
                return period.start
        return None


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class CostLine:
    """One run of consecutive time during which the same price component was active.

    `volume` is what was measured (kWh; hours for time; 1 for FLAT); `billed_volume` adds the
    step_size round-up, which OCPI bills at the last active component of the dimension group.
    `excl_vat`/`incl_vat` are exact (unrounded).
    """

    cost_dimension: CostDimension
    tariff_dimension: TariffDimension
    element_index: int
    price: Decimal
    vat_rate: Decimal | None
    step_size: int
    start: datetime
    end: datetime
    volume: Decimal
    billed_volume: Decimal
    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True, slots=True)
class DimensionCost:
    dimension: CostDimension
    excl_vat: Decimal  # rounded half-up to the currency's minor unit
    incl_vat: Decimal
    exact_excl_vat: Decimal
    exact_incl_vat: Decimal
    volume: Decimal  # kWh / hours / number of flat fees
    billed_volume: Decimal
    vat_rates: tuple[Decimal | None, ...]  # distinct rates used, None = no VAT applicable


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The CPO price of one session (our cost), per dimension and in total.

    `total` is the exact total after min_price/max_price, rounded half-up; it is not the sum of
    the rounded dimensions (those can differ by a minor unit). `uncapped_total` is the exact sum
    before min/max. `warnings` list assumptions the engine had to make (e.g. a period without
    current data met a current restriction).
    """

    tariff_id: str
    currency: str
    dimensions: Mapping[CostDimension, DimensionCost]
    lines: tuple[CostLine, ...]
    total: Amount
    exact_total: Amount
    uncapped_total: Amount
    min_price_applied: bool
    max_price_applied: bool
    energy_kwh: Decimal
    tariff_valid_at_start: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DriverPrice:
    """What the driver pays under a `PriceRuleSet` (see rules.py for how VAT applies)."""

    total: Amount  # rounded half-up
    exact_total: Amount
    markup_excl_vat: Decimal  # exact; negative for a discount
    vat_rate: Decimal | None  # the rate applied to the whole driver price, None = CPO's VAT kept


@dataclass(frozen=True, slots=True)
class PricingResult:
    cpo: CostBreakdown
    driver: DriverPrice | None = None


# ---------------------------------------------------------------------------------------------
# CDRs as received (for reconciliation). Totals are kept exactly as the CPO sent them.


class CdrDimensionType(StrEnum):
    ENERGY = "ENERGY"  # kWh
    MAX_CURRENT = "MAX_CURRENT"  # A
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"  # kW
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"  # h
    RESERVATION_TIME = "RESERVATION_TIME"  # h
    TIME = "TIME"  # h
    # Session-only in OCPI 2.2.1; tolerated in CDRs and ignored.
    CURRENT = "CURRENT"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    POWER = "POWER"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"


@dataclass(frozen=True, slots=True)
class CdrChargingPeriod:
    start: datetime
    dimensions: tuple[tuple[CdrDimensionType, Decimal], ...]
    tariff_id: str | None = None

    def volume(self, kind: CdrDimensionType) -> Decimal | None:
        for dimension, volume in self.dimensions:
            if dimension is kind:
                return volume
        return None


@dataclass(frozen=True, slots=True)
class Cdr:
    id: str
    currency: str
    start: datetime
    end: datetime
    tariffs: tuple[Tariff, ...]
    charging_periods: tuple[CdrChargingPeriod, ...]
    total_cost: Price
    total_energy: Decimal
    total_time: Decimal
    total_fixed_cost: Price | None = None
    total_energy_cost: Price | None = None
    total_time_cost: Price | None = None
    total_parking_time: Decimal | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    credit: bool = False
    credit_reference_id: str | None = None
    session_id: str | None = None
    country_code: str = ""
    party_id: str = ""
    location_country: str = ""  # ISO 3166 alpha-3 from cdr_location
