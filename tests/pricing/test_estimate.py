"""Driver estimates and the tariff in plain words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from roaming.pricing.errors import PricingInputError
from roaming.pricing.estimate import describe_rules, describe_tariff, estimate_session
from roaming.pricing.parse import parse_tariff
from roaming.pricing.rules import PriceRuleSet
from tests.pricing.helpers import example_tariff, local

D = Decimal


def test_it_estimates_at_the_lower_of_connector_and_car_power() -> None:
    estimate = estimate_session(example_tariff("tariff_13_simple_3hour_5parking.json"), kwh=D(22),
                                start=local("2019-06-04 10:00"), time_zone="Europe/Berlin",
                                connector_max_kw=D(22), car_max_kw=D(11))
    assert estimate.power_kw == D(11)
    assert estimate.charging_minutes == 120
    assert estimate.total.excl_vat == D("6.00")  # 2 h × 3.00
    assert estimate.total.incl_vat == D("6.60")
    assert "10:00" in estimate.summary and "2 h" in estimate.summary and "€6.60 incl. VAT" in estimate.summary


def test_it_includes_parking_fees_in_the_estimate() -> None:
    estimate = estimate_session(example_tariff("tariff_4_complex.json"), kwh=D(11), start=local("2019-06-03 09:30"),
                                time_zone="Europe/Berlin", connector_max_kw=D(11), parking_minutes=D(42))
    # 11 kW ≈ 47.8 A (≥ 32 A, Monday): TIME 2.00/h for 1 h, parking 45 min at 5.00/h, FLAT 2.50.
    assert estimate.total.excl_vat == D("8.25")
    assert any("230 V" in assumption for assumption in estimate.assumptions)


def test_it_applies_the_driver_rules_to_the_estimate() -> None:
    estimate = estimate_session(example_tariff("tariff_9_025kwh_start.json"), kwh=D(20),
                                start=local("2019-06-04 10:00"), time_zone="Europe/Berlin",
                                connector_max_kw=D(50), rules=PriceRuleSet(per_kwh=D("0.05"), vat_rate=D(19)))
    assert estimate.total.excl_vat == D("6.50")
    assert "our fee: +€0.05/kWh (excl. VAT)" in estimate.description


def test_it_rejects_a_non_positive_energy_or_power() -> None:
    tariff = example_tariff("tariff_8_simple_025kwh.json")
    with pytest.raises(PricingInputError) as caught:
        estimate_session(tariff, kwh=D(0), time_zone="Europe/Berlin", connector_max_kw=D(11))
    assert caught.value.field == "kwh"
    with pytest.raises(PricingInputError):
        estimate_session(tariff, kwh=D(10), time_zone="Europe/Berlin", connector_max_kw=D(0))


def test_it_describes_a_simple_tariff_incl_vat() -> None:
    assert describe_tariff(example_tariff("tariff_9_025kwh_start.json")) == (
        "€0.60 per session + €0.275/kWh (incl. VAT)")
    assert describe_tariff(example_tariff("tariff_9_025kwh_start.json"), include_vat=False) == (
        "€0.50 per session + €0.25/kWh")


def test_it_describes_a_time_fee_after_two_hours_per_minute() -> None:
    tariff = parse_tariff({"id": "T", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.59", "step_size": 1},
                              {"type": "FLAT", "price": "0.50", "step_size": 0}]},
        {"price_components": [{"type": "TIME", "price": "6.00", "step_size": 60}],
         "restrictions": {"min_duration": 7200}},
    ]})
    assert describe_tariff(tariff) == "€0.59/kWh + €0.50 per session + €0.10/min after 2 h"


def test_it_describes_parking_windows_and_days() -> None:
    text = describe_tariff(example_tariff("tariff_4_complex.json"), include_vat=False)
    assert text == ("€2.50 per session + €1.00/h below 32 A + €2.00/h at 32 A or more, Mon–Fri"
                    " + €1.25/h at 32 A or more, Sat–Sun"
                    "; parking €5.00/h after charging, 09:00–18:00 Mon–Fri"
                    "; parking €6.00/h after charging, 10:00–17:00 Sat")


def test_it_describes_reservations_and_free_tariffs() -> None:
    assert describe_tariff(example_tariff("tariff_5_free_of_charge.json")) == "free of charge"
    text = describe_tariff(example_tariff("tariff_17_reservation_with_expire_fee.json"), include_vat=False)
    assert text == "€0.50 per session + €0.25/kWh; if the reservation expires €4.00; reservation €2.00/h"


def test_it_describes_a_free_first_half_hour() -> None:
    text = describe_tariff(example_tariff("tariffrestriction_example_max_duration.json"), include_vat=False)
    assert text == "energy free for the first 30 min + €0.25/kWh for the first 1 h + €0.40/kWh"


def test_it_describes_rules_in_words() -> None:
    rules = PriceRuleSet(per_kwh=D("0.05"), per_session=D("0.30"), percent=D(10), max_markup=D(5))
    assert describe_rules(rules, "EUR") == "+€0.05/kWh +€0.30 per session +10%, at most €5.00 (excl. VAT)"
