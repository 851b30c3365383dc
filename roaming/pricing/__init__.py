"""OCPI 2.2.1 tariff price engine: pure Python, no Django, Decimal money.

    parse.parse_tariff(json) / parse.parse_cdr(json)        OCPI JSON → typed objects (types.py)
    engine.price_session(tariff, profile, rules=None)        → PricingResult (CPO price, driver price)
    estimate.estimate_session(tariff, kwh=…, …)              → Estimate for a driver, with words
    reconcile.reconcile(cdr, time_zone=…)                    → Reconciliation (MATCH/MISMATCH/…)

Each module's docstring states its contract and the decisions it makes.
"""

from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingError, PricingInputError, TariffNotValidError
from roaming.pricing.estimate import Estimate, describe_tariff, estimate_session
from roaming.pricing.reconcile import Reconciliation, Verdict, reconcile
from roaming.pricing.rules import PriceRuleSet
from roaming.pricing.types import PricingResult

__all__ = [
    "Estimate",
    "PriceRuleSet",
    "PricingError",
    "PricingInputError",
    "PricingResult",
    "Reconciliation",
    "TariffNotValidError",
    "Verdict",
    "describe_tariff",
    "estimate_session",
    "price_session",
    "reconcile",
]
