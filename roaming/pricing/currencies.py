"""ISO 4217 currencies we can price in: minor units, half-up rounding, display.

Contract: `minor_units(code)` raises `PricingInputError` for a code that is not an ISO 4217
currency a price can be paid in (see `roaming.iso4217`), because rounding to a guessed number of
decimals would produce a wrong price. Every such currency can be priced; `_SYMBOLS` gives the
display symbol of the common ones, and the others are shown with their code ("MKD 1,234.50").

Rounding is half-up (5.625 → 5.63), which is what the OCPI spec examples and most consumer
price regulations expect; Python's default banker's rounding would give 5.62.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from roaming.iso4217 import MINOR_UNITS
from roaming.pricing.errors import PricingInputError

# code: (display symbol, symbol goes after the amount); any other currency shows its code first.
_SYMBOLS: dict[str, tuple[str, bool]] = {
    "EUR": ("€", False),
    "GBP": ("£", False),
    "SEK": (" kr", True),
    "NOK": (" kr", True),
    "DKK": (" kr.", True),
    "PLN": (" zł", True),
    "CZK": (" Kč", True),
    "HUF": (" Ft", True),
    "RON": (" lei", True),
    "BGN": (" лв", True),
    "ISK": (" kr", True),
    "RSD": (" RSD", True),
    "UAH": ("₴", False),
    "USD": ("$", False),
    "CAD": ("CA$", False),
    "AUD": ("A$", False),
    "NZD": ("NZ$", False),
    "MXN": ("MX$", False),
    "BRL": ("R$", False),
    "JPY": ("¥", False),
    "KRW": ("₩", False),
    "CNY": ("CN¥", False),
    "HKD": ("HK$", False),
    "SGD": ("S$", False),
    "TWD": ("NT$", False),
    "INR": ("₹", False),
    "TRY": ("₺", False),
    "ILS": ("₪", False),
    "ZAR": ("R", False),
}

_QUANTUM_CACHE: dict[int, Decimal] = {units: Decimal(1).scaleb(-units) for units in (0, 1, 2, 3, 4)}


def minor_units(code: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise PricingInputError("currency", f"unknown currency {code!r} (not an ISO 4217 currency)") from None


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
    symbol, after = _SYMBOLS.get(currency, (f"{currency} ", False))
    return f"{sign}{number}{symbol}" if after else f"{sign}{symbol}{number}"
