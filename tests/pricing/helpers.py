"""Small builders for pricing tests: tariffs from the OCPI examples, profiles in local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from roaming.pricing.engine import price_session
from roaming.pricing.parse import load_json, parse_tariff
from roaming.pricing.types import ChargingPeriod, ChargingProfile, CostBreakdown, PeriodState, Tariff

EXAMPLES = Path("/work/shared/ocpi-examples")
D221 = EXAMPLES / "2.2.1-d2" / "examples"
BERLIN = "Europe/Berlin"


def example_json(name: str, version: str = "2.2.1-d2") -> Any:
    return load_json((EXAMPLES / version / "examples" / name).read_text())


def example_tariff(name: str, version: str = "2.2.1-d2") -> Tariff:
    return parse_tariff(example_json(name, version))


def inline_tariff(*components: dict[str, Any], currency: str = "EUR", **extra: Any) -> Tariff:
    """One unrestricted element with these components."""
    return parse_tariff({"id": "T", "currency": currency, "elements": [{"price_components": list(components)}],
                         **extra})


@dataclass(frozen=True)
class Segment:
    state: PeriodState
    minutes: Decimal
    kwh: Decimal = Decimal(0)
    max_power_kw: Decimal | None = None
    max_current_a: Decimal | None = None


def charge(minutes: float | str, kwh: float | str = 0, *, kw: float | str | None = None,
           amps: float | str | None = None) -> Segment:
    return Segment(PeriodState.CHARGING, Decimal(str(minutes)), Decimal(str(kwh)),
                   None if kw is None else Decimal(str(kw)), None if amps is None else Decimal(str(amps)))


def park(minutes: float | str) -> Segment:
    return Segment(PeriodState.PARKING, Decimal(str(minutes)))


def reserve(minutes: float | str) -> Segment:
    return Segment(PeriodState.RESERVATION, Decimal(str(minutes)))


def local(text: str, tz: str = BERLIN) -> datetime:
    """"2019-06-03 09:30" in `tz`, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def profile(start: datetime | str, *segments: Segment, tz: str = BERLIN, expired: bool = False) -> ChargingProfile:
    at = local(start, tz) if isinstance(start, str) else start
    periods = []
    for segment in segments:
        periods.append(ChargingPeriod(start=at, state=segment.state, energy_kwh=segment.kwh,
                                      max_power_kw=segment.max_power_kw, max_current_a=segment.max_current_a))
        at = at + timedelta(microseconds=int(segment.minutes * 60_000_000))
    return ChargingProfile(time_zone=tz, periods=tuple(periods), end=at, reservation_expired=expired)


def price(tariff: Tariff, start: datetime | str, *segments: Segment, tz: str = BERLIN,
          expired: bool = False) -> CostBreakdown:
    return price_session(tariff, profile(start, *segments, tz=tz, expired=expired)).cpo
