"""Driver price rules: what the eMSP charges the driver on top of (or below) the CPO price.

A `PriceRuleSet` is plain data; `price_session(..., rules=...)` applies it after the CPO price
is known, so the result carries both our cost (`result.cpo`) and the driver price
(`result.driver`).

How a rule set turns the CPO price into the driver price, in this order:
1. markup = per_kwh × energy delivered (kWh measured, not step-rounded)
           + per_session (once per priced profile)
           + percent/100 × CPO total excl. VAT (after the tariff's min/max price).
   Negative values are discounts.
2. The markup is clamped to [min_markup, max_markup] (a cap on what we add, a floor on how much
   we give away).
3. driver excl. VAT = CPO total excl. VAT + markup, never below zero, then clamped to
   [min_total, max_total] (the driver price floor / cap, excl. VAT).
4. VAT. The driver buys from the eMSP, so the eMSP's VAT applies to the whole driver price:
   with `vat_rate` set (percent, the eMSP's configured rate for the country of supply), driver
   incl. VAT = driver excl. VAT × (1 + vat_rate/100), whatever VAT the CPO's components carried.
   With `vat_rate` None we keep the CPO's VAT structure: the driver price is grossed up with
   the CPO price's effective rate (CPO incl / CPO excl), i.e. our markup carries the same
   average VAT as the CPO price. `DriverPrice.vat_rate` reports which rate was used (None in
   the second case).
5. Rounding: half-up to the currency's minor unit, exact figures kept alongside.

Amounts in a rule set are in the tariff's currency; set `currency` to have a mismatch rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from roaming.pricing.currencies import round_money
from roaming.pricing.errors import PricingInputError
from roaming.pricing.types import ZERO, Amount, CostBreakdown, DriverPrice

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PriceRuleSet:
    name: str = ""
    per_kwh: Decimal = ZERO  # excl. VAT, per kWh delivered
    per_session: Decimal = ZERO  # excl. VAT
    percent: Decimal = ZERO  # of the CPO price excl. VAT
    min_markup: Decimal | None = None
    max_markup: Decimal | None = None
    min_total: Decimal | None = None  # driver price excl. VAT
    max_total: Decimal | None = None
    vat_rate: Decimal | None = None  # percent; None = keep the CPO's VAT structure
    currency: str | None = None  # None = whatever the tariff's currency is

    def __post_init__(self) -> None:
        if self.min_markup is not None and self.max_markup is not None and self.max_markup < self.min_markup:
            raise PricingInputError("max_markup", "is below min_markup")
        if self.min_total is not None and self.max_total is not None and self.max_total < self.min_total:
            raise PricingInputError("max_total", "is below min_total")
        for name in ("min_total", "max_total", "vat_rate"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise PricingInputError(name, f"must not be negative (got {value})")


def apply_rules(cpo: CostBreakdown, rules: PriceRuleSet) -> DriverPrice:
    """The driver price for a CPO price under `rules` (see the module docstring)."""
    if rules.currency is not None and rules.currency != cpo.currency:
        raise PricingInputError("rules.currency", f"rule set is in {rules.currency}, tariff in {cpo.currency}")
    base = cpo.exact_total
    markup = rules.per_kwh * cpo.energy_kwh + rules.per_session + rules.percent / _HUNDRED * base.excl_vat
    if rules.min_markup is not None and markup < rules.min_markup:
        markup = rules.min_markup
    if rules.max_markup is not None and markup > rules.max_markup:
        markup = rules.max_markup
    driver_excl = max(ZERO, base.excl_vat + markup)
    if rules.min_total is not None and driver_excl < rules.min_total:
        driver_excl = rules.min_total
    if rules.max_total is not None and driver_excl > rules.max_total:
        driver_excl = rules.max_total
    if rules.vat_rate is not None:
        driver_incl = driver_excl * (1 + rules.vat_rate / _HUNDRED)
    elif base.excl_vat > 0:
        driver_incl = driver_excl * base.incl_vat / base.excl_vat
    else:
        driver_incl = driver_excl
    exact = Amount(driver_excl, driver_incl)
    total = Amount(round_money(driver_excl, cpo.currency), round_money(driver_incl, cpo.currency))
    return DriverPrice(total=total, exact_total=exact, markup_excl_vat=driver_excl - base.excl_vat,
                       vat_rate=rules.vat_rate)
