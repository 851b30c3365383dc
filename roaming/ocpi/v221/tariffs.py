"""OCPI 2.2.1 Tariffs module wire models (checklist §5, spec `mod_tariffs.asciidoc`).

Contract
--------
* :class:`Tariff` is the full object of a PUT or a Sender's list page. Prices, VAT percentages
  and restriction quantities are :class:`~decimal.Decimal` (money is never a float);
  ``step_size`` and durations are integers.
* :class:`TariffRestrictions` validates ``start_time``/``end_time`` as ``HH:MM`` (00:00..23:59,
  held as :class:`datetime.time`; an ``end_time`` of 00:00 means end of day, and an end before
  the start wraps past midnight — both are the pricing engine's business, not rejected here)
  and ``start_date``/``end_date`` as real ``YYYY-MM-DD`` dates (:class:`datetime.date`).
  Dumped to JSON they are written back in the same spellings.
* ``currency`` must be three upper-case letters (ISO 4217 form); ``elements`` and each element's
  ``price_components`` need at least one entry; ``last_updated`` is required (the spec's
  ``tariff_put_example.json`` lacks it and is rejected).
* A tariff we accept is one our price engine can price: its contradictions (a minimum above its
  maximum, an end before its start, a reservation element pricing ENERGY…) are refused here with
  the engine's own rule and the field's path, not stored to be found unpriceable later. The
  rules live once, in :mod:`roaming.pricing.types`.
* General tolerances are those of :mod:`roaming.ocpi.v221.common`; the tolerant page decoder in
  :mod:`roaming.ocpi.v221.feeds` additionally repairs enum case and upper-cases a currency,
  recording warnings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from roaming.pricing.errors import PricingInputError
from roaming.pricing.parse import parse_tariff

from .common import (
    CiString36,
    CountryCode,
    CurrencyCode,
    DateTime,
    DisplayText,
    EnergyMix,
    LastUpdated,
    LocalDate,
    LocalTime,
    Number,
    OcpiEnum,
    OcpiModel,
    PartyId,
    Price,
    Url,
    not_a_boolean,
)

__all__ = [
    "DayOfWeek",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
]


class TariffType(OcpiEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class TariffDimensionType(OcpiEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(OcpiEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(OcpiEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


NonNegativeNumber = Annotated[Number, Field(ge=0)]
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(not_a_boolean)]


class PriceComponent(OcpiModel):
    type: TariffDimensionType
    price: NonNegativeNumber
    # Percent; absent means "no VAT applicable", which is not the same as 0 %.
    vat: NonNegativeNumber | None = None
    # Unit: Wh for ENERGY, seconds for TIME/PARKING_TIME; meaningless for FLAT (examples use 0).
    step_size: NonNegativeInt


class TariffRestrictions(OcpiModel):
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None
    min_kwh: NonNegativeNumber | None = None
    max_kwh: NonNegativeNumber | None = None
    min_current: NonNegativeNumber | None = None
    max_current: NonNegativeNumber | None = None
    min_power: NonNegativeNumber | None = None
    max_power: NonNegativeNumber | None = None
    min_duration: NonNegativeInt | None = None
    max_duration: NonNegativeInt | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(OcpiModel):
    price_components: Annotated[list[PriceComponent], Field(min_length=1)]
    restrictions: TariffRestrictions | None = None


class Tariff(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    currency: CurrencyCode
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], Field(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: LastUpdated

    @model_validator(mode="after")
    def _priceable(self) -> Tariff:
        try:
            parse_tariff(self.model_dump(mode="json", exclude_none=True))
        except PricingInputError as error:
            raise PydanticCustomError(
                "ocpi_tariff", "{message}", {"message": error.message, "subpath": f".{error.field}" if error.field else ""}
            ) from None
        return self
