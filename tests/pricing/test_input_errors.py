"""Input we cannot price raises PricingInputError naming the field; never a wrong price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingInputError, TariffNotValidError
from roaming.pricing.parse import parse_cdr, parse_tariff
from roaming.pricing.types import ChargingPeriod, ChargingProfile, Tariff
from tests.pricing.helpers import charge, example_json, example_tariff, profile

D = Decimal


def tariff_json(**changes: Any) -> dict[str, Any]:
    data = {"id": "T", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}]}]}
    data.update(changes)
    return data


def with_restrictions(**restrictions: Any) -> dict[str, Any]:
    return tariff_json(elements=[{"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}],
                                  "restrictions": restrictions}])


def error_for(data: Any) -> PricingInputError:
    with pytest.raises(PricingInputError) as caught:
        parse_tariff(data)
    return caught.value


def test_it_rejects_a_tariff_without_elements() -> None:
    assert error_for(tariff_json(elements=[])).field == "elements"
    with pytest.raises(PricingInputError, match="elements"):
        Tariff(id="T", currency="EUR", elements=())


def test_it_rejects_an_element_without_price_components() -> None:
    assert error_for(tariff_json(elements=[{"price_components": []}])).field == "elements[0].price_components"


def test_it_rejects_an_unknown_dimension_type_with_its_path() -> None:
    data = tariff_json(elements=[{"price_components": [
        {"type": "ENERGY", "price": 1, "step_size": 1}, {"type": "KILOMETRES", "price": 1, "step_size": 1}]}])
    error = error_for(data)
    assert error.field == "elements[0].price_components[1].type"
    assert "KILOMETRES" in str(error)


@pytest.mark.parametrize(("restrictions", "field"), [
    ({"min_kwh": 20, "max_kwh": 10}, "elements[0].restrictions.max_kwh"),
    ({"start_date": "2019-06-05", "end_date": "2019-06-01"}, "elements[0].restrictions.end_date"),
    ({"min_duration": 3600, "max_duration": 1800}, "elements[0].restrictions.max_duration"),
    ({"min_power": 50, "max_power": 22}, "elements[0].restrictions.max_power"),
    ({"min_current": 32, "max_current": 16}, "elements[0].restrictions.max_current"),
])
def test_it_rejects_restrictions_ending_before_they_start(restrictions: dict[str, Any], field: str) -> None:
    assert error_for(with_restrictions(**restrictions)).field == field


def test_it_accepts_a_time_window_over_midnight() -> None:
    tariff = parse_tariff(with_restrictions(start_time="22:00", end_time="06:00"))
    assert tariff.elements[0].restrictions is not None


@pytest.mark.parametrize(("restrictions", "field"), [
    ({"start_time": "24:00"}, "elements[0].restrictions.start_time"),
    ({"end_time": "7:00"}, "elements[0].restrictions.end_time"),
    ({"start_date": "2019-02-30"}, "elements[0].restrictions.start_date"),
    ({"day_of_week": ["MONDAY", "FUNDAY"]}, "elements[0].restrictions.day_of_week[1]"),
    ({"reservation": "MAYBE"}, "elements[0].restrictions.reservation"),
    ({"min_kwh": "lots"}, "elements[0].restrictions.min_kwh"),
    ({"max_duration": 1.5}, "elements[0].restrictions.max_duration"),
])
def test_it_rejects_malformed_restrictions(restrictions: dict[str, Any], field: str) -> None:
    assert error_for(with_restrictions(**restrictions)).field == field


def test_it_rejects_an_unknown_currency() -> None:
    error = error_for(tariff_json(currency="XYZ"))
    assert error.field == "currency" and "XYZ" in error.message


def test_it_rejects_negative_component_prices() -> None:
    data = tariff_json(elements=[{"price_components": [{"type": "ENERGY", "price": "-0.10", "step_size": 1}]}])
    assert error_for(data).field == "elements[0].price_components[0].price"


def test_it_rejects_negative_min_price() -> None:
    assert error_for(tariff_json(min_price={"excl_vat": -1})).field == "min_price.excl_vat"


def test_it_rejects_a_max_price_below_the_min_price() -> None:
    assert error_for(tariff_json(min_price={"excl_vat": 5}, max_price={"excl_vat": 4})).field == "max_price.excl_vat"


@pytest.mark.parametrize(("component", "field"), [
    ({"type": "ENERGY", "price": "0.25"}, "step_size"),
    ({"type": "ENERGY", "step_size": 1}, "price"),
    ({"type": "ENERGY", "price": True, "step_size": 1}, "price"),
    ({"type": "ENERGY", "price": "0.25", "step_size": -1}, "step_size"),
    ({"type": "ENERGY", "price": "NaN", "step_size": 1}, "price"),
])
def test_it_rejects_malformed_price_components(component: dict[str, Any], field: str) -> None:
    error = error_for(tariff_json(elements=[{"price_components": [component]}]))
    assert error.field == f"elements[0].price_components[0].{field}"


def test_it_rejects_energy_in_a_reservation_element() -> None:
    data = tariff_json(elements=[{"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}],
                                  "restrictions": {"reservation": "RESERVATION"}}])
    assert error_for(data).field == "elements[0].price_components[0].type"


def test_it_names_the_embedded_tariff_in_a_cdr() -> None:
    data = example_json("cdr_example.json")
    data["tariffs"][0]["currency"] = "ABC"
    with pytest.raises(PricingInputError) as caught:
        parse_cdr(data)
    assert caught.value.field == "tariffs[0].currency"


def test_it_rejects_an_unknown_time_zone() -> None:
    with pytest.raises(PricingInputError) as caught:
        ChargingProfile(time_zone="Mars/Olympus_Mons", periods=(ChargingPeriod(start=datetime(2019, 6, 4, tzinfo=UTC)),),
                        end=datetime(2019, 6, 4, 1, tzinfo=UTC))
    assert caught.value.field == "time_zone"


START = datetime(2019, 6, 4, 8, 0, tzinfo=UTC)


def test_it_rejects_periods_out_of_order() -> None:
    with pytest.raises(PricingInputError, match="out of order") as caught:
        ChargingProfile(time_zone="Europe/Berlin", end=START + timedelta(hours=2), periods=(
            ChargingPeriod(start=START + timedelta(hours=1)), ChargingPeriod(start=START)))
    assert caught.value.field == "periods[1].start"


def test_it_rejects_overlapping_periods() -> None:
    with pytest.raises(PricingInputError, match="overlapping") as caught:
        ChargingProfile(time_zone="Europe/Berlin", end=START + timedelta(hours=2), periods=(
            ChargingPeriod(start=START), ChargingPeriod(start=START)))
    assert caught.value.field == "periods[1].start"


def test_it_rejects_a_session_ending_before_its_last_period_starts() -> None:
    with pytest.raises(PricingInputError) as caught:
        ChargingProfile(time_zone="Europe/Berlin", end=START - timedelta(minutes=1),
                        periods=(ChargingPeriod(start=START),))
    assert caught.value.field == "end"


def test_it_rejects_naive_datetimes() -> None:
    with pytest.raises(PricingInputError) as caught:
        ChargingPeriod(start=datetime(2019, 6, 4, 8, 0))
    assert caught.value.field == "start"


def test_it_rejects_a_session_starting_after_the_tariff_ended() -> None:
    tariff = example_tariff("tariff_6_025kwh_start_max_price.json")  # valid until 2019-06-30T23:59:59Z
    late = profile("2019-07-02 10:00", charge(60, 20))
    with pytest.raises(TariffNotValidError) as caught:
        price_session(tariff, late)
    assert caught.value.field == "end_date_time"


def test_it_can_price_outside_the_validity_window_and_flags_it() -> None:
    tariff = example_tariff("tariff_6_025kwh_start_max_price.json")
    result = price_session(tariff, profile("2019-07-02 10:00", charge(60, 20)), check_validity=False).cpo
    assert not result.tariff_valid_at_start
    assert result.warnings and "valid" in result.warnings[0]
    assert result.total.excl_vat == D("5.50")


def test_it_rejects_a_session_starting_before_the_tariff_starts() -> None:
    data = tariff_json(start_date_time="2019-07-01T00:00:00Z")
    with pytest.raises(TariffNotValidError) as caught:
        price_session(parse_tariff(data), profile("2019-06-04 10:00", charge(60, 20)))
    assert caught.value.field == "start_date_time"
