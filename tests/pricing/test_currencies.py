"""Currency table, half-up rounding and display."""

from __future__ import annotations

from decimal import Decimal

import pytest

from roaming.pricing.currencies import format_money, minor_units, round_money
from roaming.pricing.errors import PricingInputError

D = Decimal


@pytest.mark.parametrize(("code", "units"), [("EUR", 2), ("GBP", 2), ("ISK", 0), ("JPY", 0), ("KRW", 0),
                                            ("KWD", 3), ("BHD", 3), ("OMR", 3), ("TND", 3), ("TRY", 2)])
def test_it_knows_minor_units(code: str, units: int) -> None:
    assert minor_units(code) == units


@pytest.mark.parametrize(("code", "units"), [("MKD", 2), ("VND", 0), ("UGX", 0), ("IQD", 3), ("LYD", 3), ("XOF", 0)])
def test_it_knows_the_minor_units_of_every_iso_currency_not_only_the_common_ones(code: str, units: int) -> None:
    assert minor_units(code) == units


@pytest.mark.parametrize("code", ["XXX", "XYZ", "CLF", "eur"])
def test_it_rejects_an_unknown_currency(code: str) -> None:
    with pytest.raises(PricingInputError) as caught:
        minor_units(code)
    assert caught.value.field == "currency"


def test_it_rounds_half_up_not_half_even() -> None:
    assert round_money(D("5.625"), "EUR") == D("5.63")
    assert round_money(D("0.125"), "EUR") == D("0.13")
    assert round_money(D("12.5"), "JPY") == D("13")
    assert round_money(D("0.2555"), "KWD") == D("0.256")


@pytest.mark.parametrize(("amount", "code", "text"), [
    ("5.625", "EUR", "€5.63"), ("1234.5", "GBP", "£1,234.50"), ("1250", "JPY", "¥1,250"),
    ("12.5", "SEK", "12.50 kr"), ("0.25", "KWD", "KWD 0.250"), ("-4.4", "EUR", "-€4.40"),
    ("1234.5", "MKD", "MKD 1,234.50"), ("45000", "VND", "VND 45,000"),
])
def test_it_formats_money_for_display(amount: str, code: str, text: str) -> None:
    assert format_money(D(amount), code) == text

