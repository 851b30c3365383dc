"""Inputs that look odd but are real and must get a correct price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from roaming.pricing.engine import price_session
from roaming.pricing.parse import parse_tariff
from roaming.pricing.types import ChargingPeriod, ChargingProfile, CostDimension, PeriodState
from tests.pricing.helpers import charge, inline_tariff, park, price

D = Decimal


def night_tariff(start: str = "22:00", end: str = "06:00", night: str = "2.00", day: str = "1.00") -> object:
    return parse_tariff({"id": "N", "currency": "EUR", "elements": [
        {"price_components": [{"type": "TIME", "price": night, "step_size": 1}],
         "restrictions": {"start_time": start, "end_time": end}},
        {"price_components": [{"type": "TIME", "price": day, "step_size": 1}]},
    ]})


def utc_profile(start: datetime, end: datetime, tz: str = "Europe/Berlin") -> ChargingProfile:
    return ChargingProfile(time_zone=tz, periods=(ChargingPeriod(start=start, energy_kwh=D(30)),), end=end)


def test_it_prices_a_night_window_across_the_spring_forward_change() -> None:
    # 2024-03-31 02:00 CET → 03:00 CEST. 21:00 → 07:00 local is 9 real hours, 7 of them at night.
    start = datetime(2024, 3, 30, 20, 0, tzinfo=UTC)  # 21:00 CET
    end = datetime(2024, 3, 31, 5, 0, tzinfo=UTC)  # 07:00 CEST
    result = price_session(night_tariff(), utc_profile(start, end)).cpo
    assert [(line.price, line.billed_volume) for line in result.lines] == [
        (D("1.00"), 1), (D("2.00"), 7), (D("1.00"), 1)]
    assert result.exact_total.excl_vat == D("16.00")


def test_it_prices_a_night_window_across_the_fall_back_change() -> None:
    # 2024-10-27 03:00 CEST → 02:00 CET. 21:00 → 07:00 local is 11 real hours, 9 of them at night.
    start = datetime(2024, 10, 26, 19, 0, tzinfo=UTC)  # 21:00 CEST
    end = datetime(2024, 10, 27, 6, 0, tzinfo=UTC)  # 07:00 CET
    result = price_session(night_tariff(), utc_profile(start, end)).cpo
    assert [(line.price, line.billed_volume) for line in result.lines] == [
        (D("1.00"), 1), (D("2.00"), 9), (D("1.00"), 1)]


def test_it_starts_a_window_whose_start_time_falls_in_the_spring_forward_gap_at_the_change() -> None:
    # 02:30 never happens on 2024-03-31 in Berlin; the window 02:30–05:00 opens at 03:00 CEST.
    start = datetime(2024, 3, 30, 23, 0, tzinfo=UTC)  # 00:00 CET
    end = datetime(2024, 3, 31, 4, 0, tzinfo=UTC)  # 06:00 CEST, 5 real hours
    result = price_session(night_tariff("02:30", "05:00"), utc_profile(start, end)).cpo
    assert result.exact_total.excl_vat == D("7.00")  # 2 h × 2.00 + 3 h × 1.00


def test_it_applies_a_window_twice_when_fall_back_repeats_its_wall_clock_time() -> None:
    start = datetime(2024, 10, 26, 22, 0, tzinfo=UTC)  # 00:00 CEST
    end = datetime(2024, 10, 27, 3, 0, tzinfo=UTC)  # 04:00 CET
    result = price_session(night_tariff("02:15", "02:45", night="6.00", day="0.00"), utc_profile(start, end)).cpo
    assert result.exact_total.excl_vat == D("6.00")  # 02:15–02:45 CEST and again CET


def test_it_prices_a_72_hour_session_with_nightly_windows() -> None:
    tariff = parse_tariff({"id": "L", "currency": "EUR", "elements": [
        {"price_components": [{"type": "TIME", "price": "0.50", "step_size": 60}],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
        {"price_components": [{"type": "TIME", "price": "1.00", "step_size": 60},
                              {"type": "ENERGY", "price": "0.25", "step_size": 1}]},
    ]})
    result = price(tariff, "2019-06-03 12:00", charge(24 * 60, 100), charge(24 * 60, 100), charge(24 * 60, 100))
    time_cost = result.dimensions[CostDimension.TIME]
    assert time_cost.billed_volume == 72
    assert time_cost.exact_excl_vat == D("60.00")  # 3 nights × 8 h × 0.50 + 48 h × 1.00
    assert result.dimensions[CostDimension.ENERGY].exact_excl_vat == D("75.00")


def test_it_does_not_round_with_step_size_zero() -> None:
    tariff = inline_tariff({"type": "ENERGY", "price": "0.25", "step_size": 0},
                           {"type": "TIME", "price": "1.00", "step_size": 0})
    result = price(tariff, "2019-06-04 10:00", charge("0.5", "0.1152"))
    assert result.exact_total.excl_vat == D("0.0288") + D("1.00") * D(30) / D(3600)


def test_it_prices_zero_price_components_as_zero_with_their_vat_rate() -> None:
    tariff = inline_tariff({"type": "ENERGY", "price": "0.00", "vat": 20, "step_size": 1})
    result = price(tariff, "2019-06-04 10:00", charge(60, 20))
    assert result.total.excl_vat == result.total.incl_vat == D("0.00")
    assert result.dimensions[CostDimension.ENERGY].vat_rates == (D(20),)


@pytest.mark.parametrize(("currency", "unit_price", "excl", "incl"), [
    ("JPY", "35", "716", "787"),  # 20.45 kWh × 35 = 715.75; × 1.10 = 787.325
    ("KWD", "0.0125", "0.256", "0.281"),  # 0.255625; × 1.10 = 0.2811875
    ("ISK", "45", "920", "1012"),  # 920.25; 1012.275
])
def test_it_rounds_to_the_currencys_minor_unit(currency: str, unit_price: str, excl: str, incl: str) -> None:
    tariff = inline_tariff({"type": "ENERGY", "price": unit_price, "vat": 10, "step_size": 1}, currency=currency)
    result = price(tariff, "2019-06-04 10:00", charge(60, "20.45"))
    assert (result.total.excl_vat, result.total.incl_vat) == (D(excl), D(incl))
    assert result.exact_total.excl_vat == D(unit_price) * D("20.45")


def test_it_bills_parking_that_continues_over_several_periods_with_one_round_up() -> None:
    tariff = inline_tariff({"type": "PARKING_TIME", "price": "6.00", "step_size": 900})
    result = price(tariff, "2019-06-04 10:00", charge(30, 10), park(10), park(10))
    assert result.dimensions[CostDimension.PARKING_TIME].billed_volume * 60 == 30


def test_it_prices_sessions_whose_last_period_has_zero_length() -> None:
    start = datetime(2019, 6, 4, 8, 0, tzinfo=UTC)
    profile = ChargingProfile(time_zone="Europe/Berlin", end=start + timedelta(hours=1), periods=(
        ChargingPeriod(start=start, energy_kwh=D(10)),
        ChargingPeriod(start=start + timedelta(hours=1), state=PeriodState.PARKING),
    ))
    result = price_session(inline_tariff({"type": "ENERGY", "price": "0.30", "step_size": 1}), profile).cpo
    assert result.exact_total.excl_vat == D("3.00")
