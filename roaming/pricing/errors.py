"""The pricing engine's errors: one base class, each error names the offending field.

A `PricingInputError` is raised instead of ever returning a price computed from input we do not
understand. `field` is a path into the input ("elements[2].restrictions.max_kwh",
"periods[3].start"); `parse.py` prefixes it with where the object sat in the JSON it read.
"""

from __future__ import annotations


class PricingError(Exception):
    """Base class of everything `roaming.pricing` raises on purpose."""


class PricingInputError(PricingError, ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def within(self, prefix: str) -> PricingInputError:
        """The same error with its field path placed under `prefix` (e.g. "tariffs[0]")."""
        if not prefix:
            return self
        field = f"{prefix}.{self.field}" if self.field and not self.field.startswith("[") else prefix + self.field
        clone = type(self)(field, self.message)
        return clone


class TariffNotValidError(PricingInputError):
    """The session starts outside the tariff's start_date_time/end_date_time."""
