"""Estimates for drivers: "what will ~X kWh at this connector cost me if I start now?".

`estimate_session` builds a simple profile — charge `kwh` at a constant power, then optionally
park — and prices it with the engine, so the estimate follows exactly the rules a CDR would.
`describe_tariff` turns a tariff into plain words ("€0.30/kWh + €0.50 per session + €0.10/min
after 2 h; parking €5.00/h after charging, 09:00–18:00 Mon–Fri").

Assumptions (returned in `Estimate.assumptions`, so a screen can show them):
- Power = min(connector max power, car max power), constant for the whole charge. Real
  sessions taper near a full battery, so the time (and any time-based cost) is a lower bound.
- Current for current restrictions, unless given: power / 230 V, i.e. the current summed over
  phases of an AC charge at 230 V phase voltage.
- Times and days are the Location's local time (`time_zone`); the start is "now" unless given.
Prices in descriptions are incl. VAT by default (what a consumer must be shown); components
without VAT are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from roaming.pricing.currencies import format_money, minor_units
from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingInputError
from roaming.pricing.rules import PriceRuleSet
from roaming.pricing.types import (
    ZERO,
    Amount,
    ChargingPeriod,
    ChargingProfile,
    DayOfWeek,
    PeriodState,
    PriceComponent,
    PricingResult,
    ReservationRestriction,
    Tariff,
    TariffDimension,
    TariffRestrictions,
)

__all__ = ["Estimate", "describe_rules", "describe_tariff", "estimate_session", "format_money"]

_AC_PHASE_VOLTAGE = Decimal(230)
_HUNDRED = Decimal(100)
_SIXTY = Decimal(60)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Estimate:
    result: PricingResult
    total: Amount  # what the driver pays: the driver price with rules, else the CPO price (rounded)
    power_kw: Decimal
    charging_minutes: Decimal
    start_local: datetime
    end_local: datetime
    description: str  # the tariff (and our fees) in plain words
    summary: str  # one sentence for the start screen
    assumptions: tuple[str, ...]


def estimate_session(tariff: Tariff, *, kwh: Decimal, time_zone: str, connector_max_kw: Decimal,
                     car_max_kw: Decimal | None = None, start: datetime | None = None,
                     parking_minutes: Decimal = ZERO, current_a: Decimal | None = None,
                     rules: PriceRuleSet | None = None, include_vat: bool = True) -> Estimate:
    """Price charging `kwh` now (or at `start`) at min(connector, car) power, then parking."""
    if kwh <= 0:
        raise PricingInputError("kwh", "must be more than 0")
    if connector_max_kw <= 0:
        raise PricingInputError("connector_max_kw", "must be more than 0")
    if car_max_kw is not None and car_max_kw <= 0:
        raise PricingInputError("car_max_kw", "must be more than 0")
    if parking_minutes < 0:
        raise PricingInputError("parking_minutes", "must not be negative")
    power = connector_max_kw if car_max_kw is None else min(connector_max_kw, car_max_kw)
    assumptions = [f"charging at a constant {_number(power)} kW (slower near a full battery)"]
    if current_a is None:
        current_a = power * 1000 / _AC_PHASE_VOLTAGE
        assumptions.append(f"current {_number(current_a.quantize(Decimal('0.1')))} A (AC at 230 V)")
    if start is None:
        start = datetime.now(tz=ZoneInfo("UTC"))
    charging_seconds = kwh / power * 3600
    charging = timedelta(microseconds=int((charging_seconds * 1_000_000).to_integral_value()))
    parking = timedelta(microseconds=int((parking_minutes * 60 * 1_000_000).to_integral_value()))
    periods = [ChargingPeriod(start=start, state=PeriodState.CHARGING, energy_kwh=kwh, max_power_kw=power,
                              max_current_a=current_a)]
    if parking:
        periods.append(ChargingPeriod(start=start + charging, state=PeriodState.PARKING))
    profile = ChargingProfile(time_zone=time_zone, periods=tuple(periods), end=start + charging + parking)
    result = price_session(tariff, profile, rules=rules)
    total = result.driver.total if result.driver is not None else result.cpo.total
    zone = profile.zone
    start_local = start.astimezone(zone)
    end_local = profile.end.astimezone(zone)
    charging_minutes = charging_seconds / _SIXTY
    description = describe_tariff(tariff, include_vat=include_vat)
    if rules is not None:
        fees = describe_rules(rules, tariff.currency)
        if fees:
            description = f"{description}; our fee: {fees}"
    shown = total.incl_vat if include_vat else total.excl_vat
    vat_words = "incl. VAT" if include_vat else "excl. VAT"
    parking_words = f", then {_duration_words(parking_minutes * 60)} parked" if parking else ""
    summary = (f"About {_number(kwh)} kWh at {_number(power)} kW from {start_local:%H:%M} "
               f"({_DAY_NAMES[start_local.weekday()]}, {time_zone} time), charging about "
               f"{_duration_words(charging_seconds)}{parking_words}: "
               f"{format_money(shown, tariff.currency)} {vat_words}")
    return Estimate(result=result, total=total, power_kw=power, charging_minutes=charging_minutes,
                    start_local=start_local, end_local=end_local, description=description, summary=summary,
                    assumptions=tuple(assumptions) + result.cpo.warnings)


def describe_tariff(tariff: Tariff, *, include_vat: bool = True) -> str:
    """The tariff in plain words, element by element in the order OCPI evaluates them."""
    charging: list[str] = []
    parking: list[str] = []
    reservation: list[str] = []
    for element in tariff.elements:
        restrictions = element.restrictions
        condition = _condition_words(restrictions)
        for component in element.price_components:
            phrase = _component_words(component, tariff.currency, include_vat, restrictions)
            if phrase is None:
                continue
            text = phrase + condition
            if restrictions is not None and restrictions.reservation is not None:
                reservation.append(text)
            elif component.dimension is TariffDimension.PARKING_TIME:
                parking.append(text)
            else:
                charging.append(text)
    if not charging and not parking and not reservation:
        return "free of charge"
    sections = []
    if charging:
        sections.append(" + ".join(charging))
    else:
        sections.append("charging free of charge")
    sections.extend(parking)
    sections.extend(reservation)
    text = "; ".join(sections)
    if include_vat and any(component.vat is not None for element in tariff.elements
                           for component in element.price_components):
        text += " (incl. VAT)"
    return text


def describe_rules(rules: PriceRuleSet, currency: str) -> str:
    """Our markup in words, excl. VAT ("+€0.05/kWh + €0.30 per session + 10%, at most €5.00")."""
    parts = []
    if rules.per_kwh:
        parts.append(f"{_signed_money(rules.per_kwh, currency)}/kWh")
    if rules.per_session:
        parts.append(f"{_signed_money(rules.per_session, currency)} per session")
    if rules.percent:
        parts.append(f"{'+' if rules.percent > 0 else '−'}{_number(abs(rules.percent))}%")
    if not parts:
        return ""
    text = " ".join(parts)
    if rules.max_markup is not None:
        text += f", at most {format_money(rules.max_markup, currency)}"
    if rules.min_markup is not None:
        text += f", at least {format_money(rules.min_markup, currency)}"
    return text + " (excl. VAT)"


# ---------------------------------------------------------------------------------------------


def _component_words(component: PriceComponent, currency: str, include_vat: bool,
                     restrictions: TariffRestrictions | None) -> str | None:
    price = component.price
    if include_vat and component.vat is not None:
        price = price * (1 + component.vat / _HUNDRED)
    restricted = _condition_words(restrictions) != ""
    if not price and not restricted:
        return None  # an unrestricted free component: nothing to say
    expired = restrictions is not None and restrictions.reservation is ReservationRestriction.RESERVATION_EXPIRES
    dimension = component.dimension
    if dimension is TariffDimension.FLAT:
        if restrictions is not None and restrictions.reservation is not None:
            label = "if the reservation expires" if expired else "reservation fee"
            return f"{label} {_money_or_free(price, currency)}"
        return f"{_money_or_free(price, currency)} per session"
    if dimension is TariffDimension.ENERGY:
        return "energy free" if not price else f"{_unit_price(price, currency)}/kWh"
    if dimension is TariffDimension.PARKING_TIME:
        # Parking fees are posted per hour; a per-minute figure reads like a charging price.
        return f"parking {_unit_price(price, currency)}/h after charging" if price else "parking free"
    per_time = "free" if not price else _time_price(price, currency)
    if restrictions is not None and restrictions.reservation is not None:
        return f"{'expired reservation' if expired else 'reservation'} {per_time}"
    return "charging time free" if not price else per_time


def _condition_words(restrictions: TariffRestrictions | None) -> str:
    """" after 2 h, 09:00–18:00 Mon–Fri": quantities after a space, calendar after a comma."""
    if restrictions is None:
        return ""
    r = restrictions
    words = []
    if r.min_kwh is not None and r.max_kwh is not None:
        words.append(f"from {_number(r.min_kwh)} to {_number(r.max_kwh)} kWh")
    elif r.min_kwh is not None:
        words.append(f"after {_number(r.min_kwh)} kWh")
    elif r.max_kwh is not None:
        words.append(f"for the first {_number(r.max_kwh)} kWh")
    if r.min_duration is not None and r.max_duration is not None:
        words.append(f"from {_duration_words(Decimal(r.min_duration))} to {_duration_words(Decimal(r.max_duration))}")
    elif r.min_duration is not None:
        words.append(f"after {_duration_words(Decimal(r.min_duration))}")
    elif r.max_duration is not None:
        words.append(f"for the first {_duration_words(Decimal(r.max_duration))}")
    words.extend(_range_words(r.min_power, r.max_power, "kW"))
    words.extend(_range_words(r.min_current, r.max_current, "A"))
    when = []
    if r.start_time is not None or r.end_time is not None:
        start = _clock(r.start_time or time(0, 0))
        end = _clock(r.end_time or time(0, 0))
        when.append(f"{start}–{end}")
    if r.day_of_week:
        when.append(_days_words(r.day_of_week))
    if r.start_date is not None or r.end_date is not None:
        when.append(_dates_words(r.start_date, r.end_date))
    text = "".join(f" {word}" for word in words)
    if when:
        text += ", " + " ".join(when)
    return text


def _range_words(low: Decimal | None, high: Decimal | None, unit: str) -> list[str]:
    if low is not None and high is not None:
        return [f"at {_number(low)}–{_number(high)} {unit}"]
    if low is not None:
        return [f"at {_number(low)} {unit} or more"]
    if high is not None:
        return [f"below {_number(high)} {unit}"]
    return []


def _days_words(days: frozenset[DayOfWeek]) -> str:
    numbers = sorted(int(day) for day in days)
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    pieces = [_DAY_NAMES[run[0]] if len(run) == 1 else f"{_DAY_NAMES[run[0]]}–{_DAY_NAMES[run[-1]]}"
              for run in runs]
    return ", ".join(pieces)


def _dates_words(start: date | None, end: date | None) -> str:
    if start is not None and end is not None:
        return f"{start:%d %b %Y} to {end - timedelta(days=1):%d %b %Y}"
    if start is not None:
        return f"from {start:%d %b %Y}"
    assert end is not None
    return f"until {end - timedelta(days=1):%d %b %Y}"


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


def _duration_words(seconds: Decimal) -> str:
    minutes = int((seconds / _SIXTY).to_integral_value(rounding=ROUND_HALF_UP))
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


def _time_price(price_per_hour: Decimal, currency: str) -> str:
    per_minute = price_per_hour / _SIXTY
    quantum = Decimal(1).scaleb(-minor_units(currency))
    if per_minute >= quantum and per_minute == per_minute.quantize(quantum):
        return f"{format_money(per_minute, currency)}/min"
    return f"{_unit_price(price_per_hour, currency)}/h"


def _unit_price(price: Decimal, currency: str) -> str:
    # Unit prices often carry a third decimal (0.295/kWh); keep it rather than round it away.
    units = minor_units(currency)
    for decimals in range(units, units + 3):
        if price == price.quantize(Decimal(1).scaleb(-decimals)):
            return format_money(price, currency, decimals=decimals)
    return format_money(price, currency, decimals=units + 2)


def _money_or_free(price: Decimal, currency: str) -> str:
    return format_money(price, currency) if price else "free"


def _signed_money(amount: Decimal, currency: str) -> str:
    return f"{'+' if amount > 0 else '−'}{_unit_price(abs(amount), currency)}"


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
