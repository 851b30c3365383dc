"""Every TariffRestriction, evaluated continuously, including boundaries inside a period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from roaming.pricing.parse import parse_tariff
from roaming.pricing.types import CostDimension
from tests.pricing.helpers import charge, example_tariff, park, price

D = Decimal


def two_elements(dimension: str, first_price: str, restrictions: dict[str, Any], fallback_price: str,
                 step_size: int = 1) -> Any:
    return parse_tariff({"id": "T", "currency": "EUR", "elements": [
        {"price_components": [{"type": dimension, "price": first_price, "step_size": step_size}],
         "restrictions": restrictions},
        {"price_components": [{"type": dimension, "price": fallback_price, "step_size": step_size}]},
    ]})


NIGHT = {"start_time": "22:00", "end_time": "06:00"}


def test_it_applies_a_time_window_that_wraps_past_midnight() -> None:
    tariff = two_elements("TIME", "0.50", NIGHT, "1.00")
    result = price(tariff, "2019-06-04 21:00", charge(600))  # 21:00 → 07:00
    assert [(line.price, line.billed_volume) for line in result.lines] == [
        (D("1.00"), 1), (D("0.50"), 8), (D("1.00"), 1)]
    assert result.exact_total.excl_vat == D("6.00")


def test_it_reads_end_time_00_00_as_end_of_day() -> None:
    tariff = example_tariff("tariff_14_step_size.json")  # 20:00–00:00 then 00:00–17:00
    result = price(tariff, "2019-06-04 23:30", charge(60))
    assert [(line.price, line.billed_volume * 60) for line in result.lines] == [(D("2.40"), 30), (D("1.20"), 30)]


def test_it_treats_equal_start_and_end_time_as_the_whole_day() -> None:
    tariff = two_elements("TIME", "0.50", {"start_time": "08:00", "end_time": "08:00"}, "1.00")
    assert price(tariff, "2019-06-04 07:00", charge(120)).exact_total.excl_vat == D("1.00")


def test_it_applies_start_date_inclusive_and_end_date_exclusive_in_local_time() -> None:
    tariff = two_elements("TIME", "0.50", {"start_date": "2019-06-05", "end_date": "2019-06-06"}, "1.00")
    # 23:00 on the 4th to 01:00 on the 6th: 1 h before, 24 h inside, 1 h after.
    result = price(tariff, "2019-06-04 23:00", charge(26 * 60))
    assert [(line.price, line.billed_volume) for line in result.lines] == [
        (D("1.00"), 1), (D("0.50"), 24), (D("1.00"), 1)]


def test_it_switches_on_day_of_week_at_local_midnight() -> None:
    tariff = two_elements("TIME", "2.00", {"day_of_week": ["SATURDAY", "SUNDAY"]}, "1.00")
    result = price(tariff, "2019-06-07 23:00", charge(120))  # Friday 23:00 → Saturday 01:00
    assert [(line.price, line.billed_volume) for line in result.lines] == [(D("1.00"), 1), (D("2.00"), 1)]


def test_it_splits_a_period_where_session_energy_crosses_max_kwh_assuming_linear_delivery() -> None:
    tariff = two_elements("ENERGY", "0.30", {"max_kwh": 10}, "0.50")
    result = price(tariff, "2019-06-04 10:00", charge(60, 20))
    assert [(line.price, line.volume) for line in result.lines] == [(D("0.30"), 10), (D("0.50"), 10)]
    assert result.exact_total.excl_vat == D("8.00")


def test_it_switches_time_price_when_min_kwh_is_reached_mid_period() -> None:
    tariff = two_elements("TIME", "6.00", {"min_kwh": 10}, "0.00")
    result = price(tariff, "2019-06-04 10:00", charge(60, 20))  # 10 kWh reached after 30 min
    assert result.exact_total.excl_vat == D("3.00")


def test_it_counts_kwh_over_the_whole_session_not_per_period() -> None:
    tariff = two_elements("ENERGY", "0.50", {"min_kwh": 10}, "0.30")
    result = price(tariff, "2019-06-04 10:00", charge(30, 8), charge(30, 4))
    assert [(line.price, line.volume) for line in result.lines] == [(D("0.30"), 10), (D("0.50"), 2)]


def test_it_splits_a_period_at_max_duration() -> None:
    tariff = example_tariff("tariffrestriction_example_max_duration.json")
    # One 40-min period with 6.2 kWh: 30 min (4.65 kWh) free, 10 min (1.55 kWh) at 0.25.
    result = price(tariff, "2019-06-04 10:00", charge(40, "6.2"))
    assert result.exact_total.excl_vat == D("0.3875")


def test_it_measures_min_duration_on_the_session_including_charging() -> None:
    tariff = two_elements("PARKING_TIME", "6.00", {"min_duration": 7200}, "0.00", step_size=60)
    result = price(tariff, "2019-06-04 10:00", charge(90, 10), park(60))
    # 90 min charging + 30 min parking reach 2 h; the last 30 min of parking are priced.
    assert [(line.price, line.billed_volume * 60) for line in result.lines
            if line.cost_dimension is CostDimension.PARKING_TIME] == [(D("0.00"), 30), (D("6.00"), 30)]
    assert result.exact_total.excl_vat == D("3.00")


def test_it_treats_max_power_as_exclusive_and_min_power_as_inclusive() -> None:
    tariff = example_tariff("tariffrestriction_example_max_power.json")
    assert price(tariff, "2019-06-04 10:00", charge(60, 16, kw=16)).lines[0].price == D("0.35")
    below = two_elements("ENERGY", "0.40", {"min_power": 50}, "0.30")
    assert price(below, "2019-06-04 10:00", charge(60, 50, kw=50)).lines[0].price == D("0.40")
    assert price(below, "2019-06-04 10:00", charge(60, 49, kw=49)).lines[0].price == D("0.30")


def test_it_uses_the_average_power_of_a_period_without_power_data() -> None:
    tariff = example_tariff("tariffrestriction_example_max_power.json")
    assert price(tariff, "2019-06-04 10:00", charge(60, 11)).lines[0].price == D("0.20")  # 11 kW
    assert price(tariff, "2019-06-04 10:00", charge(30, 11)).lines[0].price == D("0.35")  # 22 kW


def test_it_treats_max_current_as_exclusive_and_min_current_as_inclusive() -> None:
    tariff = example_tariff("tariff_4_complex.json")
    result = price(tariff, "2019-06-03 10:00", charge(60, 22, amps=32))
    assert [line.price for line in result.lines if line.cost_dimension is CostDimension.TIME] == [D("2.00")]


def test_it_warns_and_skips_current_restrictions_without_current_data() -> None:
    tariff = example_tariff("tariff_4_complex.json")
    result = price(tariff, "2019-06-03 10:00", charge(60, 22))
    assert result.dimensions[CostDimension.TIME].exact_excl_vat == 0
    assert any("no current" in warning for warning in result.warnings)


def test_it_selects_the_flat_fee_active_at_session_start() -> None:
    tariff = parse_tariff({"id": "T", "currency": "EUR", "elements": [
        {"price_components": [{"type": "FLAT", "price": "1.00", "step_size": 0}],
         "restrictions": {"start_time": "18:00", "end_time": "06:00"}},
        {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 0},
                              {"type": "ENERGY", "price": "0.30", "step_size": 1}]},
    ]})
    assert price(tariff, "2019-06-04 17:30", charge(60, 10)).dimensions[CostDimension.FLAT].excl_vat == D("0.50")
    assert price(tariff, "2019-06-04 18:00", charge(60, 10)).dimensions[CostDimension.FLAT].excl_vat == D("1.00")


def test_it_leaves_a_dimension_free_when_no_element_matches() -> None:
    tariff = example_tariff("tariff_4_complex.json")
    result = price(tariff, "2019-06-03 19:00", charge(60, 10, amps=16), park(60))  # parking after 18:00
    assert result.dimensions[CostDimension.PARKING_TIME].exact_excl_vat == 0


def test_it_never_prices_reservation_periods_with_charging_elements() -> None:
    from tests.pricing.helpers import reserve

    tariff = example_tariff("tariff_9_025kwh_start.json")
    result = price(tariff, "2019-06-04 10:00", reserve(30), charge(60, 20))
    assert result.dimensions[CostDimension.RESERVATION].exact_excl_vat == 0
    assert result.exact_total.excl_vat == D("5.50")
