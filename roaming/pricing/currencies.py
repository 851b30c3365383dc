"""ISO 4217 currencies we can price in: minor units, half-up rounding, display.

Contract: `minor_units(code)` raises `PricingInputError` for a currency that is not in the table,
because rounding to a guessed number of decimals would produce a wrong price. Adding a currency
is one line in `_CURRENCIES` (minor units from ISO 4217, symbol used for display only).

Rounding is half-up (5.625 → 5.63), which is what the OCPI spec examples and most consumer
price regulations expect; Python's default banker's rounding would give 5.62.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from roaming.pricing.errors import PricingInputError

# code: (minor units, display symbol, symbol goes after the amount)
_CURRENCIES: dict[str, tuple[int, str, bool]] = {
    "EUR": (2, "€", False),
    "GBP": (2, "£", False),
    "CHF": (2, "CHF ", False),
    "SEK": (2, " kr", True),
    "NOK": (2, " kr", True),
    "DKK": (2, " kr.", True),
    "PLN": (2, " zł", True),
    "CZK": (2, " Kč", True),
    "HUF": (2, " Ft", True),
    "RON": (2, " lei", True),
    "BGN": (2, " лв", True),
    "ISK": (0, " kr", True),
    "RSD": (2, " RSD", True),
    "UAH": (2, "₴", False),
    "USD": (2, "$", False),
    "CAD": (2, "CA$", False),
    "AUD": (2, "A$", False),
    "NZD": (2, "NZ$", False),
    "MXN": (2, "MX$", False),
    "BRL": (2, "R$", False),
    "CLP": (0, "CLP ", False),
    "JPY": (0, "¥", False),
    "KRW": (0, "₩", False),
    "CNY": (2, "CN¥", False),
    "HKD": (2, "HK$", False),
    "SGD": (2, "S$", False),
    "TWD": (2, "NT$", False),
    "INR": (2, "₹", False),
    "TRY": (2, "₺", False),
    "ILS": (2, "₪", False),
    "AED": (2, "AED ", False),
    "SAR": (2, "SAR ", False),
    "ZAR": (2, "R", False),
    "KWD": (3, "KWD ", False),
    "BHD": (3, "BHD ", False),
    "OMR": (3, "OMR ", False),
    "JOD": (3, "JOD ", False),
    "TND": (3, "TND ", False),
}

_QUANTUM_CACHE: dict[int, Decimal] = {units: Decimal(1).scaleb(-units) for units in (0, 1, 2, 3, 4)}


def is_known_currency(code: str) -> bool:
    return code in _CURRENCIES


def known_currencies() -> tuple[str, ...]:
    return tuple(sorted(_CURRENCIES))


def minor_units(code: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return _CURRENCIES[code][0]
    except KeyError:
        raise PricingInputError("currency", f"unknown currency {code!r} (not in our ISO 4217 table)") from None


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: 5.625 EUR → 5.63, 12.5 JPY → 13."""
    return amount.quantize(_QUANTUM_CACHE[minor_units(currency)], rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, *, decimals: int | None = None) -> str:
    """Display form for drivers: "€5.63", "¥1,250", "5.63 kr", "KWD 1.250".

    `decimals` overrides the minor unit for unit prices that need more precision (€0.295/kWh);
    the amount is rounded half-up to whichever applies.
    """
    units = minor_units(currency) if decimals is None else decimals
    rounded = amount.quantize(Decimal(1).scaleb(-units), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    number = f"{abs(rounded):,.{units}f}"
    _, symbol, after = _CURRENCIES[currency]
    return f"{sign}{number}{symbol}" if after else f"{sign}{symbol}{number}"
