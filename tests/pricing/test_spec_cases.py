"""The OCPI spec's own price examples (shared/docs/ocpi-tariff-cases.md), TC-01 … TC-34, TC-H1.

Where the spec is wrong the case file's correction is used and cited: TC-11 5.63/6.24,
TC-14 12.375/13.975, TC-22 0.55, TC-24 0.73 (2.2.1-d2 errata).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from roaming.pricing.parse import parse_tariff
from roaming.pricing.types import CostBreakdown, CostDimension
from tests.pricing.helpers import charge, example_json, example_tariff, inline_tariff, park, price, reserve

D = Decimal
START = "2019-06-04 10:00"  # a Tuesday, CEST, before tariff_6's end_date_time


def assert_total(result: CostBreakdown, excl: str, incl: str) -> None:
    assert (result.total.excl_vat, result.total.incl_vat) == (D(excl), D(incl))


def minutes(result: CostBreakdown, dimension: CostDimension) -> list[Decimal]:
    return [line.billed_volume * 60 for line in result.lines if line.cost_dimension is dimension
            and line.tariff_dimension.value != "FLAT"]


@pytest.mark.parametrize(
    ("case", "tariff", "segments", "excl", "incl"),
    [
        ("TC-01", "tariff_8_simple_025kwh.json", [charge(60, 20)], "5.00", "5.50"),
        ("TC-02", "tariff_9_025kwh_start.json", [charge(60, 20)], "5.50", "6.10"),
        ("TC-03", "tariff_12_025kwh_min_price.json", [charge(60, 20)], "5.00", "5.50"),
        ("TC-04", "tariff_12_025kwh_min_price.json", [charge(10, 1)], "0.50", "0.55"),
        ("TC-05", "tariff_10_025kwh_parking_start.json", [charge(60, 20), park(40)], "7.00", "7.90"),
        ("TC-06", "tariff_6_025kwh_start_max_price.json", [charge(120, 50)], "10.00", "11.00"),
        ("TC-07", "tariff_6_025kwh_start_max_price.json", [charge(90, 30)], "8.00", "8.85"),
        ("TC-08", "tariff_1_simple_2hour.json", [charge(150, 10)], "5.00", "5.50"),
        ("TC-09", "tariff_13_simple_3hour_5parking.json", [charge(150, 10), park(42)], "11.25", "12.75"),
        ("TC-10", "tariff_2_alt_text.json", [charge(150, 10)], "4.75", "5.00"),
        ("TC-11", "tariff_3_alt_url.json", [charge(60, "20.45")], "5.63", "6.24"),
        ("TC-15", "tariff_5_free_of_charge.json", [charge(60, 20), park(30)], "0.00", "0.00"),
        ("TC-16", "tariff_15_reservation_5_euro_per_hour.json", [reserve(15), charge(60, 20)], "6.75", "7.60"),
        ("TC-17", "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json", [reserve(13), charge(60, 20)],
         "8.75", "10.00"),
        ("TC-18", "tariff_17_reservation_with_expire_fee.json", [reserve(22), charge(60, 20)], "6.50", "7.30"),
        ("TC-20", "tariff_18_reservation_with_expire_time.json", [reserve(22), charge(60, 20)], "7.00", "7.90"),
        ("TC-25", "tariffrestriction_example_max_power.json",
         [charge(10, 1, kw=6), charge(50, 40, kw=48), charge("7.5", "0.5", kw=4)], "20.30", "24.36"),
        ("TC-26", "tariffrestriction_example_max_duration.json", [charge(30, 5), charge(10, "1.2")], "0.30", "0.36"),
    ],
)
def test_it_prices_the_spec_examples(case: str, tariff: str, segments: list, excl: str, incl: str) -> None:
    assert_total(price(example_tariff(tariff), START, *segments), excl, incl)


def test_it_raises_a_small_session_to_the_minimum_price_tc04() -> None:
    result = price(example_tariff("tariff_12_025kwh_min_price.json"), START, charge(10, 1))
    assert result.min_price_applied
    assert (result.uncapped_total.excl_vat, result.uncapped_total.incl_vat) == (D("0.25"), D("0.275"))


def test_it_caps_at_the_maximum_price_and_keeps_the_uncapped_figures_tc06() -> None:
    result = price(example_tariff("tariff_6_025kwh_start_max_price.json"), START, charge(120, 50))
    assert result.max_price_applied
    assert (result.uncapped_total.excl_vat, result.uncapped_total.incl_vat) == (D("13.00"), D("14.35"))


def test_it_bills_parking_in_15_minute_steps_tc05() -> None:
    result = price(example_tariff("tariff_10_025kwh_parking_start.json"), START, charge(60, 20), park(40))
    assert minutes(result, CostDimension.PARKING_TIME) == [45]
    parking = result.dimensions[CostDimension.PARKING_TIME]
    assert (parking.excl_vat, parking.incl_vat) == (D("1.50"), D("1.80"))


def test_it_does_not_round_charging_time_followed_by_parking_tc09() -> None:
    result = price(example_tariff("tariff_13_simple_3hour_5parking.json"), START, charge(150, 10), park(42))
    assert minutes(result, CostDimension.TIME) == [150]
    assert minutes(result, CostDimension.PARKING_TIME) == [45]


def test_it_keeps_three_decimals_of_vat_exactly_tc10() -> None:
    result = price(example_tariff("tariff_2_alt_text.json"), START, charge(150, 10))
    assert result.exact_total.incl_vat == D("4.997")


def test_it_rounds_half_up_after_billing_energy_in_100_wh_steps_tc11() -> None:
    result = price(example_tariff("tariff_3_alt_url.json"), START, charge(60, "20.45"))
    assert (result.exact_total.excl_vat, result.exact_total.incl_vat) == (D("5.625"), D("6.2375"))
    energy = result.dimensions[CostDimension.ENERGY]
    assert energy.billed_volume == D("20.5")
    assert (energy.excl_vat, energy.incl_vat) == (D("5.13"), D("5.64"))


def test_it_prices_the_alt_url_real_time_price_when_given_as_a_tariff_tc12() -> None:
    data = example_json("tariff_3_alt_url.json")
    data["elements"][0]["price_components"][1]["price"] = D("0.22")
    result = price(parse_tariff(data), START, charge(60, "20.45"))
    assert (result.exact_total.excl_vat, result.exact_total.incl_vat) == (D("5.010"), D("5.5610"))
    assert_total(result, "5.01", "5.56")


def test_it_prices_the_complex_tariff_on_a_monday_tc13() -> None:
    result = price(example_tariff("tariff_4_complex.json"), "2019-06-03 09:30", charge(165, 10, amps=16), park(42))
    assert_total(result, "9.00", "10.30")
    assert minutes(result, CostDimension.TIME) == [165]
    assert minutes(result, CostDimension.PARKING_TIME) == [45]
    assert result.dimensions[CostDimension.FLAT].exact_incl_vat == D("2.875")


def test_it_prices_the_complex_tariff_on_a_saturday_with_the_arithmetically_correct_figure_tc14() -> None:
    # Spec 2.2.1-d2 and 2.3.0 print 12.28 / 13.861, from "114 min @1.25/h = 2.28" which is an
    # arithmetic slip (114/60 × 1.25 = 2.375); the 2.2.1 original's 12.375 / 13.975 is right.
    result = price(example_tariff("tariff_4_complex.json"), "2019-06-08 13:30", charge(114, 30, amps=43), park(71))
    assert (result.exact_total.excl_vat, result.exact_total.incl_vat) == (D("12.375"), D("13.975"))
    assert_total(result, "12.38", "13.98")
    assert minutes(result, CostDimension.PARKING_TIME) == [75]


def test_it_charges_both_flat_fees_and_rounds_reservation_time_tc17() -> None:
    result = price(example_tariff("tariff_16_reservation_2_euro_fee_5_euro_per_hour.json"), START,
                   reserve(13), charge(60, 20))
    reservation = result.dimensions[CostDimension.RESERVATION]
    assert (reservation.excl_vat, reservation.incl_vat) == (D("3.25"), D("3.90"))
    assert reservation.billed_volume * 60 == 15
    assert result.dimensions[CostDimension.FLAT].excl_vat == D("0.50")


@pytest.mark.parametrize(
    ("case", "tariff", "reserved_minutes", "excl", "incl"),
    [
        ("TC-19", "tariff_17_reservation_with_expire_fee.json", 60, "6.00", "7.20"),
        ("TC-21", "tariff_18_reservation_with_expire_time.json", 90, "9.00", "10.80"),
    ],
)
def test_it_prices_an_expired_reservation(case: str, tariff: str, reserved_minutes: int, excl: str,
                                          incl: str) -> None:
    result = price(example_tariff(tariff), START, reserve(reserved_minutes), expired=True)
    assert_total(result, excl, incl)
    assert result.dimensions[CostDimension.FLAT].excl_vat == 0  # no charging session, no start fee


def test_it_rounds_only_parking_when_switching_elements_at_17_tc22() -> None:
    result = price(example_tariff("tariff_14_step_size.json"), "2019-06-04 16:55", charge(10), park(2))
    assert_total(result, "0.55", "0.55")
    assert [(line.price, line.billed_volume * 60) for line in result.lines] == [
        (D("1.20"), 5), (D("2.40"), 5), (D("1.00"), 15)]


def test_it_rounds_total_charging_time_with_the_last_step_size_tc23() -> None:
    result = price(example_tariff("tariff_14_step_size.json"), "2019-06-04 16:35", charge(35))
    assert_total(result, "1.30", "1.30")
    assert [(line.price, line.billed_volume * 60) for line in result.lines] == [(D("1.20"), 25), (D("2.40"), 20)]


def test_it_rounds_the_priced_parking_before_it_becomes_free_at_20_tc24() -> None:
    result = price(example_tariff("tariff_14_step_size.json"), "2019-06-04 19:40", charge(12), park(20))
    assert_total(result, "0.73", "0.73")
    assert [(line.price, round(line.volume * 60, 9), line.billed_volume * 60) for line in result.lines] == [
        (D("2.40"), 12, 12), (D("1.00"), 8, 15)]


def test_it_reports_no_vat_as_none_not_zero_tc22() -> None:
    result = price(example_tariff("tariff_14_step_size.json"), "2019-06-04 16:55", charge(10), park(2))
    assert result.dimensions[CostDimension.TIME].vat_rates == (None,)


@pytest.mark.parametrize(("step_size", "billed_wh", "exact"), [(1, 116, "0.029"), (25, 125, "0.03125"),
                                                                (500, 500, "0.125")])
def test_it_rounds_energy_up_to_the_step_size_tc27_to_tc29(step_size: int, billed_wh: int, exact: str) -> None:
    tariff = inline_tariff({"type": "ENERGY", "price": "0.25", "step_size": step_size})
    result = price(tariff, START, charge(1, "0.1152"))
    assert result.dimensions[CostDimension.ENERGY].billed_volume * 1000 == billed_wh
    assert result.exact_total.excl_vat == D(exact)


def test_it_rounds_charging_and_parking_separately_tc31() -> None:
    tariff = inline_tariff({"type": "TIME", "price": "1.00", "step_size": 300},
                           {"type": "PARKING_TIME", "price": "1.00", "step_size": 300})
    result = price(tariff, START, charge(21), park(7))
    assert minutes(result, CostDimension.TIME) == [21]
    assert minutes(result, CostDimension.PARKING_TIME) == [10]


def _before_and_after_17(dimension: str, before: str, after: str, step_size: int):
    return parse_tariff({"id": "T", "currency": "EUR", "elements": [
        {"price_components": [{"type": dimension, "price": before, "step_size": step_size}],
         "restrictions": {"end_time": "17:00"}},
        {"price_components": [{"type": dimension, "price": after, "step_size": step_size}],
         "restrictions": {"start_time": "17:00"}},
    ]})


def test_it_rounds_the_session_energy_total_not_the_part_after_17_tc32() -> None:
    result = price(_before_and_after_17("ENERGY", "0.20", "0.27", 500), "2019-06-04 16:00",
                   charge(60, "4.3"), charge(30, "1.1"))
    assert [(line.price, line.billed_volume) for line in result.lines] == [(D("0.20"), D("4.3")),
                                                                          (D("0.27"), D("1.2"))]
    assert result.exact_total.excl_vat == D("1.184")


def test_it_rounds_the_session_time_total_not_the_part_after_17_tc33() -> None:
    result = price(_before_and_after_17("TIME", "5.00", "7.00", 600), "2019-06-04 16:54", charge(28))
    assert minutes(result, CostDimension.TIME) == [6, 24]
    assert result.exact_total.excl_vat == D("3.30")


def test_it_rounds_only_the_parking_duration_tc34() -> None:
    tariff = inline_tariff({"type": "TIME", "price": "1.00", "step_size": 600},
                           {"type": "PARKING_TIME", "price": "2.00", "step_size": 600})
    result = price(tariff, START, charge(21), park(16))
    assert minutes(result, CostDimension.TIME) == [21]
    assert minutes(result, CostDimension.PARKING_TIME) == [20]
    assert abs(result.exact_total.excl_vat - D("1.0166666666666666666666666667")) < D("1e-20")
    assert_total(result, "1.02", "1.02")


def test_it_measures_duration_restrictions_from_the_session_start_not_the_parking_start_tch1() -> None:
    # The removed 2.2.1 "first hour free" example claimed 7.30 for 20 kWh then 2:45 h parked,
    # reading min/max_duration as parking time. They measure the session: after 1 h of charging
    # the parking is 2 h at 2.00 and 45 min at 3.00 (4.00 + 2.25), energy 19 kWh × 0.20 = 3.80.
    tariff = example_tariff("tariff_7_first_hour_kwh_free.json", version="2.2.1")
    result = price(tariff, START, charge(60, 20), park(165))
    assert result.exact_total.excl_vat != D("7.30")
    assert result.exact_total.excl_vat == D("10.05")
