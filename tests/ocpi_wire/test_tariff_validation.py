"""Tariffs: typed prices, validated restrictions (checklist §5.2)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from roaming.ocpi.v221.common import describe_errors
from roaming.ocpi.v221.tariffs import DayOfWeek, ReservationRestrictionType, Tariff, TariffDimensionType

from .paths import example


def tariff(**restrictions: Any) -> dict[str, Any]:
    data = copy.deepcopy(example("tariff_14_step_size.json"))
    data["elements"][0]["restrictions"] = restrictions
    return data


def reasons(data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Tariff.model_validate(data)
    return describe_errors(caught.value, Tariff)


def test_it_types_the_complex_tariff():
    parsed = Tariff.model_validate(example("tariff_4_complex.json"))
    assert parsed.currency == "EUR"
    component = parsed.elements[0].price_components[0]
    assert (component.type, component.price, component.vat, component.step_size) == (
        TariffDimensionType.FLAT,
        Decimal("2.5"),
        Decimal("15"),
        1,
    )
    restrictions = parsed.elements[4].restrictions
    assert restrictions is not None
    assert (restrictions.start_time, restrictions.end_time) == (dt.time(9), dt.time(18))
    assert restrictions.day_of_week == [
        DayOfWeek.MONDAY,
        DayOfWeek.TUESDAY,
        DayOfWeek.WEDNESDAY,
        DayOfWeek.THURSDAY,
        DayOfWeek.FRIDAY,
    ]
    assert parsed.elements[1].restrictions is not None and parsed.elements[
        1
    ].restrictions.max_current == Decimal("32")


def test_it_keeps_prices_exact():
    parsed = Tariff.model_validate(example("tariff_2_alt_text.json"))
    component = parsed.elements[0].price_components[0]
    assert component.price == Decimal("1.90") and component.vat == Decimal("5.2")
    assert parsed.model_dump(mode="json", exclude_none=True)["elements"][0]["price_components"][0] == {
        "type": "TIME",
        "price": 1.9,
        "vat": 5.2,
        "step_size": 300,
    }


def test_it_reads_restriction_dates_and_reservations():
    data = tariff(start_date="2024-12-24", end_date="2024-12-27", reservation="RESERVATION_EXPIRES")
    data["elements"][0]["price_components"] = [{"type": "TIME", "price": "1.20", "step_size": 60}]  # what it may price
    parsed = Tariff.model_validate(data)
    restrictions = parsed.elements[0].restrictions
    assert restrictions is not None
    assert (restrictions.start_date, restrictions.end_date) == (dt.date(2024, 12, 24), dt.date(2024, 12, 27))
    assert restrictions.reservation is ReservationRestrictionType.RESERVATION_EXPIRES
    dumped = parsed.model_dump(mode="json", exclude_none=True)["elements"][0]["restrictions"]
    assert dumped == {
        "start_date": "2024-12-24",
        "end_date": "2024-12-27",
        "reservation": "RESERVATION_EXPIRES",
    }


def test_it_writes_midnight_end_times_as_00_00():
    parsed = Tariff.model_validate(example("tariff_14_step_size.json"))
    assert parsed.model_dump(mode="json")["elements"][2]["restrictions"]["end_time"] == "00:00"


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [
        (
            {"start_time": "25:00"},
            "elements[0].restrictions.start_time: '25:00' is not a time of day as HH:MM (00:00..23:59)",
        ),
        (
            {"end_time": "9:00"},
            "elements[0].restrictions.end_time: '9:00' is not a time of day as HH:MM (00:00..23:59)",
        ),
        (
            {"start_time": "09:00:00"},
            "elements[0].restrictions.start_time: '09:00:00' is not a time of day as HH:MM (00:00..23:59)",
        ),
        (
            {"start_date": "2019-02-30"},
            "elements[0].restrictions.start_date: '2019-02-30' is not a date as YYYY-MM-DD",
        ),
        (
            {"end_date": "2019/01/01"},
            "elements[0].restrictions.end_date: '2019/01/01' is not a date as YYYY-MM-DD",
        ),
        ({"day_of_week": ["MON"]}, "elements[0].restrictions.day_of_week[0]: 'MON' is not a valid DayOfWeek"),
        (
            {"reservation": "YES"},
            "elements[0].restrictions.reservation: 'YES' is not a valid ReservationRestrictionType",
        ),
        ({"min_duration": 1.5}, "elements[0].restrictions.min_duration: expected an integer, got 1.5"),
        ({"max_power": "fast"}, "elements[0].restrictions.max_power: expected a number, got 'fast'"),
    ],
)
def test_it_rejects_malformed_restrictions(restrictions, reason):
    assert reasons(tariff(**restrictions)) == [reason]


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [
        ({"min_kwh": 10, "max_kwh": 5}, "elements[0].restrictions.max_kwh: 5 is below min_kwh 10"),
        ({"min_current": 32, "max_current": 16}, "elements[0].restrictions.max_current: 16 is below min_current 32"),
        ({"min_power": 50, "max_power": 22}, "elements[0].restrictions.max_power: 22 is below min_power 50"),
        ({"min_duration": 3600, "max_duration": 1800}, "elements[0].restrictions.max_duration: 1800 is below min_duration 3600"),
        (
            {"start_date": "2026-02-01", "end_date": "2026-01-01"},
            "elements[0].restrictions.end_date: 2026-01-01 is before start_date 2026-02-01",
        ),
    ],
)
def test_it_refuses_restrictions_no_session_could_meet_as_the_price_engine_would(restrictions, reason):
    # Stored, such a tariff would only fail later, when a driver's price is asked of it.
    assert reasons(tariff(**restrictions)) == [reason]


def test_it_accepts_bounds_that_meet_and_restrictions_of_one_side_only():
    assert Tariff.model_validate(tariff(min_kwh=5, max_kwh=5, start_date="2026-01-01", end_date="2026-01-01"))
    assert Tariff.model_validate(tariff(max_kwh=5, min_power=50))


def test_it_refuses_a_reservation_element_that_prices_energy():
    data = copy.deepcopy(example("tariff_1_simple_2hour.json"))
    data["elements"] = [{"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}],
                         "restrictions": {"reservation": "RESERVATION"}}]
    assert reasons(data) == [
        "elements[0].price_components[0].type: a reservation element may only price FLAT and TIME, not ENERGY"
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"start_date_time": "2026-02-01T00:00:00Z", "end_date_time": "2026-01-01T00:00:00Z"},
            "end_date_time: 2026-01-01 00:00:00+00:00 is before start_date_time 2026-02-01 00:00:00+00:00",
        ),
        (
            {"min_price": {"excl_vat": 10, "incl_vat": 12}, "max_price": {"excl_vat": 5, "incl_vat": 6}},
            "max_price.excl_vat: is below min_price.excl_vat",
        ),
        ({"min_price": {"excl_vat": -1}}, "min_price.excl_vat: must not be negative (got -1)"),
        ({"max_price": {"excl_vat": 5, "incl_vat": -6}}, "max_price.incl_vat: must not be negative (got -6)"),
    ],
)
def test_it_refuses_validity_and_price_bounds_that_contradict_themselves(changes, reason):
    assert reasons({**example("tariff_1_simple_2hour.json"), **changes}) == [reason]


def test_it_rejects_tariffs_without_prices_or_with_bad_money_fields():
    data = example("tariff_1_simple_2hour.json")
    assert reasons({**data, "elements": []}) == ["elements: needs at least 1 item(s), got 0"]
    assert reasons({**data, "currency": "eur"}) == [
        "currency: 'eur' is not a 3-letter upper-case ISO 4217 currency code"
    ]
    bad = copy.deepcopy(data)
    bad["elements"][0]["price_components"][0].update(type="KWH", price="NaN")
    assert reasons(bad) == [
        "elements[0].price_components[0].type: 'KWH' is not a valid TariffDimensionType",
        "elements[0].price_components[0].price: expected a finite number, got 'NaN'",
    ]


@pytest.mark.parametrize("code", ["XYZ", "EUE", "XXX", "XTS", "CLF", "XAU", "DEM"])
def test_it_refuses_a_currency_code_of_the_right_shape_that_is_no_currency(code):
    # Made up, ISO's "no currency" and testing codes, a fund, gold, a currency long gone.
    data = example("tariff_1_simple_2hour.json")
    assert reasons({**data, "currency": code}) == [f"currency: '{code}' is not an ISO 4217 code of a currency"]


@pytest.mark.parametrize("code", ["EUR", "MKD", "VND", "IQD", "XOF", "XCG", "BGN", "HRK"])
def test_it_accepts_every_iso_currency_including_recently_withdrawn_ones(code):
    # Beyond pricing's old table of 38 (North Macedonia, Vietnam…); the euro's predecessors in
    # Bulgaria and Croatia stay readable for tariff versions from before the change.
    assert Tariff.model_validate({**example("tariff_1_simple_2hour.json"), "currency": code}).currency == code


def test_it_rejects_a_tariff_missing_identifiers():
    data = example("tariff_1_simple_2hour.json")
    del data["party_id"]
    del data["currency"]
    assert reasons(data) == ["party_id: required field is missing", "currency: required field is missing"]
