"""Driver price rules on top of the CPO price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingInputError
from roaming.pricing.rules import PriceRuleSet
from tests.pricing.helpers import charge, example_tariff, profile

D = Decimal
SESSION = profile("2019-06-04 10:00", charge(60, 20))  # tariff_9: 5.50 excl / 6.10 incl


def driver(rules: PriceRuleSet, tariff: str = "tariff_9_025kwh_start.json"):  # type: ignore[no-untyped-def]
    result = price_session(example_tariff(tariff), SESSION, rules=rules)
    assert result.driver is not None
    return result


def test_it_returns_the_cpo_price_and_the_driver_price_side_by_side() -> None:
    result = driver(PriceRuleSet(per_kwh=D("0.05"), per_session=D("0.30"), vat_rate=D(19)))
    assert result.cpo.total.excl_vat == D("5.50")
    assert result.driver is not None
    assert result.driver.exact_total.excl_vat == D("6.80")  # 5.50 + 20 × 0.05 + 0.30
    assert result.driver.total.incl_vat == D("8.09")  # 6.80 × 1.19 = 8.092
    assert result.driver.markup_excl_vat == D("1.30")
    assert result.driver.vat_rate == D(19)


def test_it_adds_a_percentage_capped_by_max_markup() -> None:
    result = driver(PriceRuleSet(percent=D(20), max_markup=D("1.00"), vat_rate=D(20)))
    assert result.driver is not None
    assert result.driver.exact_total.excl_vat == D("6.50")  # 20% of 5.50 = 1.10, capped at 1.00


def test_it_applies_a_discount_with_a_floor_on_the_markup() -> None:
    result = driver(PriceRuleSet(percent=D(-50), min_markup=D("-1.00"), vat_rate=D(20)))
    assert result.driver is not None
    assert result.driver.exact_total.excl_vat == D("4.50")


def test_it_never_makes_the_driver_price_negative_and_honours_the_total_floor_and_cap() -> None:
    free = driver(PriceRuleSet(per_session=D(-100)))
    assert free.driver is not None and free.driver.total.excl_vat == 0
    floor = driver(PriceRuleSet(per_session=D(-100), min_total=D("1.00")))
    assert floor.driver is not None and floor.driver.total.excl_vat == D("1.00")
    cap = driver(PriceRuleSet(per_session=D(100), max_total=D("20.00")))
    assert cap.driver is not None and cap.driver.total.excl_vat == D("20.00")


def test_it_keeps_the_cpo_vat_structure_without_an_emsp_vat_rate() -> None:
    result = driver(PriceRuleSet(per_session=D("0.55")))
    assert result.driver is not None
    # CPO 5.50 → 6.10 (effective 10.909…%); the markup gets the same rate: 6.05 × 6.10 / 5.50.
    assert result.driver.exact_total.incl_vat == D("6.05") * D("6.10") / D("5.50")
    assert result.driver.vat_rate is None


def test_it_rejects_a_rule_set_in_another_currency() -> None:
    with pytest.raises(PricingInputError) as caught:
        driver(PriceRuleSet(per_kwh=D("0.05"), currency="GBP"))
    assert caught.value.field == "rules.currency"


def test_it_rejects_inverted_bounds() -> None:
    with pytest.raises(PricingInputError, match="max_markup"):
        PriceRuleSet(min_markup=D(2), max_markup=D(1))
