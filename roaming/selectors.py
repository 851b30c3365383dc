"""Reads that are reused: tariffs as the price engine sees them, in words and as a worked example."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from roaming.models import Location, Tariff
from roaming.pricing.currencies import format_money
from roaming.pricing.errors import PricingError
from roaming.pricing.estimate import describe_tariff, estimate_session
from roaming.pricing.parse import parse_tariff
from roaming.pricing.rules import PriceRuleSet
from roaming.pricing.types import Tariff as EngineTariff


def engine_tariff(tariff: Tariff) -> EngineTariff:
    """The stored OCPI tariff as the price engine's typed object (raises PricingError)."""
    return parse_tariff(tariff.raw)


def tariff_in_words(tariff: Tariff) -> str:
    try:
        return describe_tariff(engine_tariff(tariff))
    except PricingError as error:
        return f"Cannot be priced: {error}"


def tariff_time_zone(tariff: Tariff) -> str:
    """A time zone to evaluate the tariff's restrictions in: that of the party's locations.

    Restrictions are in the charging location's local time; a tariff shared by locations in
    several zones is priced per location when a session is priced, this is for staff examples.
    """
    zone = (
        Location.objects.filter(country_code=tariff.country_code, party_id=tariff.party_id)
        .order_by("pk")
        .values_list("time_zone", flat=True)
        .first()
    )
    return zone or "UTC"


@dataclass(frozen=True)
class WorkedExample:
    error: str = ""
    cpo_excl: str = ""
    cpo_incl: str = ""
    driver_excl: str = ""
    driver_incl: str = ""
    rules_name: str = ""
    summary: str = ""


def tariff_worked_example(
    tariff: Tariff, *, rules: PriceRuleSet | None, kwh: Decimal = Decimal(30), power_kw: Decimal = Decimal(50),
    start: dt.datetime | None = None,
) -> WorkedExample:
    try:
        estimate = estimate_session(
            engine_tariff(tariff), kwh=kwh, time_zone=tariff_time_zone(tariff), connector_max_kw=power_kw, start=start, rules=rules
        )
    except PricingError as error:
        return WorkedExample(error=f"Cannot be priced: {error}")
    cpo = estimate.result.cpo.total
    driver = estimate.result.driver.total if estimate.result.driver is not None else cpo
    currency = tariff.currency
    return WorkedExample(
        cpo_excl=format_money(cpo.excl_vat, currency),
        cpo_incl=format_money(cpo.incl_vat, currency),
        driver_excl=format_money(driver.excl_vat, currency),
        driver_incl=format_money(driver.incl_vat, currency),
        rules_name=rules.name if rules is not None else "no markup rule set",
        summary=estimate.summary,
    )
