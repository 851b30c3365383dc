"""Properties that hold for any tariff and session (hypothesis).

Monotonicity needs a caveat the spec itself creates: step_size round-up is billed at the price
of the *last* active component, so one more minute that falls under a cheaper element can lower
the total (e.g. 10 min at 1.00/h rounded to 15, then an 11th minute at 0.00/h moves the whole
round-up to 0.00). So "more energy or time never costs less" is checked (a) for restricted
tariffs without round-ups (step_size 0/1 on whole seconds and Wh) and (b) for single-element
tariffs with any step_size. kWh restrictions are left out for the same reason as max-restrictions:
reaching a threshold sooner can switch to a cheaper element for the time that follows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roaming.pricing.engine import price_session
from roaming.pricing.parse import parse_tariff
from roaming.pricing.types import ChargingPeriod, ChargingProfile, PeriodState, Tariff

D = Decimal
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"]
DIMENSIONS = ["ENERGY", "TIME", "PARKING_TIME", "FLAT"]
DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]

prices = st.decimals(min_value=0, max_value=10, places=2)
vats = st.one_of(st.none(), st.decimals(min_value=0, max_value=27, places=1))
times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def restrictions(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if draw(st.booleans()):
        result["start_time"] = draw(times)
    if draw(st.booleans()):
        result["end_time"] = draw(times)
    if draw(st.booleans()):
        result["day_of_week"] = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    if draw(st.booleans()):
        result["min_duration"] = draw(st.integers(0, 20000))
    if draw(st.booleans()):
        result["min_power"] = draw(st.integers(0, 150))
    if draw(st.booleans()):
        result["min_current"] = draw(st.integers(0, 200))
    return result


@st.composite
def tariffs(draw: st.DrawFn, *, single_element: bool = False, any_step: bool = False,
            bounds: bool = False) -> Tariff:
    steps = {
        "ENERGY": draw(st.sampled_from([0, 1, 100, 500] if any_step else [0, 1])),
        "TIME": draw(st.sampled_from([0, 1, 60, 300, 900] if any_step else [0, 1])),
        "PARKING_TIME": draw(st.sampled_from([0, 1, 60, 300, 900] if any_step else [0, 1])),
        "FLAT": 0,
    }
    elements = []
    for _ in range(1 if single_element else draw(st.integers(1, 4))):
        dimensions = draw(st.lists(st.sampled_from(DIMENSIONS), min_size=1, max_size=4, unique=True))
        element: dict[str, Any] = {"price_components": [
            {"type": dimension, "price": draw(prices), "vat": draw(vats), "step_size": steps[dimension]}
            for dimension in dimensions]}
        if not single_element and draw(st.booleans()):
            element["restrictions"] = draw(restrictions())
        elements.append(element)
    data: dict[str, Any] = {"id": "P", "currency": draw(st.sampled_from(["EUR", "JPY", "KWD"])),
                            "elements": elements}
    if bounds:
        low = draw(st.decimals(min_value=0, max_value=20, places=2))
        high = low + draw(st.decimals(min_value=0, max_value=50, places=2))
        data["min_price"] = {"excl_vat": low, "incl_vat": low * D("1.2")}
        data["max_price"] = {"excl_vat": high, "incl_vat": high * D("1.2")}
    return parse_tariff(data)


@st.composite
def profiles(draw: st.DrawFn) -> ChargingProfile:
    start = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 6 * 365 * 24 * 60)))
    periods = []
    at = start
    for index in range(draw(st.integers(1, 6))):
        state = PeriodState.CHARGING if index == 0 else draw(st.sampled_from([PeriodState.CHARGING,
                                                                              PeriodState.PARKING]))
        charging = state is PeriodState.CHARGING
        periods.append(ChargingPeriod(
            start=at, state=state,
            energy_kwh=D(draw(st.integers(0, 60000))) / 1000 if charging else D(0),
            max_power_kw=D(draw(st.integers(1, 350))) if charging else None,
            max_current_a=D(draw(st.integers(1, 500))) if charging else None,
        ))
        at += timedelta(seconds=draw(st.integers(1, 6 * 3600)))
    return ChargingProfile(time_zone=draw(st.sampled_from(ZONES)), periods=tuple(periods), end=at)


def with_more_energy(profile: ChargingProfile, extra_wh: int) -> ChargingProfile:
    periods = list(profile.periods)
    index = max(i for i, period in enumerate(periods) if period.state is PeriodState.CHARGING)
    old = periods[index]
    periods[index] = ChargingPeriod(start=old.start, state=old.state, energy_kwh=old.energy_kwh + D(extra_wh) / 1000,
                                    max_power_kw=old.max_power_kw, max_current_a=old.max_current_a)
    return ChargingProfile(time_zone=profile.time_zone, periods=tuple(periods), end=profile.end)


def with_more_time(profile: ChargingProfile, extra_seconds: int) -> ChargingProfile:
    """The same session, then more of its last state; nothing that already happened changes.

    (Stretching the last charging period instead would spread its energy thinner over time and
    move some of it into another time window, which is a different session, not a longer one.)
    """
    periods = profile.periods
    last = periods[-1]
    if last.state is PeriodState.CHARGING:
        periods = (*periods, ChargingPeriod(start=profile.end, state=last.state, max_power_kw=last.max_power_kw,
                                            max_current_a=last.max_current_a))
    return ChargingProfile(time_zone=profile.time_zone, periods=periods,
                           end=profile.end + timedelta(seconds=extra_seconds))


def assert_not_cheaper(tariff: Tariff, before: ChargingProfile, after: ChargingProfile) -> None:
    low = price_session(tariff, before).cpo.exact_total
    high = price_session(tariff, after).cpo.exact_total
    assert high.excl_vat >= low.excl_vat
    assert high.incl_vat >= low.incl_vat


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tariffs(), profiles(), st.integers(1, 20000))
def test_it_never_costs_less_with_more_energy(tariff: Tariff, profile: ChargingProfile, extra_wh: int) -> None:
    assert_not_cheaper(tariff, profile, with_more_energy(profile, extra_wh))


@SETTINGS
@given(tariffs(), profiles(), st.integers(1, 4 * 3600))
def test_it_never_costs_less_with_more_time(tariff: Tariff, profile: ChargingProfile, extra_seconds: int) -> None:
    assert_not_cheaper(tariff, profile, with_more_time(profile, extra_seconds))


@SETTINGS
@given(tariffs(single_element=True, any_step=True), profiles(), st.integers(1, 20000), st.integers(1, 4 * 3600))
def test_it_never_costs_less_with_more_usage_under_one_element_with_any_step_size(
        tariff: Tariff, profile: ChargingProfile, extra_wh: int, extra_seconds: int) -> None:
    assert_not_cheaper(tariff, profile, with_more_energy(profile, extra_wh))
    assert_not_cheaper(tariff, profile, with_more_time(profile, extra_seconds))


@SETTINGS
@given(tariffs(bounds=True, any_step=True), profiles())
def test_it_keeps_the_total_within_min_and_max_price(tariff: Tariff, profile: ChargingProfile) -> None:
    total = price_session(tariff, profile).cpo.exact_total
    assert tariff.min_price is not None and tariff.max_price is not None
    assert tariff.min_price.excl_vat <= total.excl_vat <= tariff.max_price.excl_vat
    assert tariff.min_price.incl_or_excl <= total.incl_vat <= tariff.max_price.incl_or_excl


@SETTINGS
@given(st.one_of(tariffs(any_step=True), tariffs(bounds=True, any_step=True)), profiles())
def test_it_never_prices_incl_vat_below_excl_vat_with_non_negative_rates(tariff: Tariff,
                                                                        profile: ChargingProfile) -> None:
    result = price_session(tariff, profile).cpo
    assert result.exact_total.incl_vat >= result.exact_total.excl_vat
    assert result.total.incl_vat >= result.total.excl_vat
    for dimension in result.dimensions.values():
        assert dimension.exact_incl_vat >= dimension.exact_excl_vat
