"""Payments: for now the driver price rules (markup/discount on the CPO price).

Subscription plans that choose a rule set come with the payments work; until then one rule set
is the default for every driver.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction

from roaming.pricing.errors import PricingInputError
from roaming.pricing.rules import PriceRuleSet as EngineRuleSet


class PriceRuleSet(models.Model):
    """What we add to (or take off) the CPO price. Amounts excl. VAT, in `currency` if set."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False, help_text="The rule set for drivers without a plan.")
    per_kwh = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(0), help_text="Added per kWh delivered (negative: discount).")
    per_session = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0), help_text="Added once per session.")
    percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal(0), help_text="Percent of the CPO price excl. VAT.")
    min_markup = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True, help_text="Never add less than this.")
    max_markup = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True, help_text="Cap on what we add.")
    min_total = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True, help_text="Driver price floor, excl. VAT.")
    max_total = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True, help_text="Driver price cap, excl. VAT.")
    vat_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Our VAT in percent; empty keeps the CPO's VAT structure."
    )
    currency = models.CharField(max_length=3, blank=True, help_text="Only apply to tariffs in this currency (empty: any).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="one_default_rule_set")]

    def __str__(self) -> str:
        return f"{self.name}{' (default)' if self.is_default else ''}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        with transaction.atomic():
            if self.is_default:
                PriceRuleSet.objects.exclude(pk=self.pk).filter(is_default=True).update(is_default=False)
            super().save(*args, **kwargs)

    def as_rules(self) -> EngineRuleSet:
        return EngineRuleSet(
            name=self.name,
            per_kwh=self.per_kwh,
            per_session=self.per_session,
            percent=self.percent,
            min_markup=self.min_markup,
            max_markup=self.max_markup,
            min_total=self.min_total,
            max_total=self.max_total,
            vat_rate=self.vat_rate,
            currency=self.currency or None,
        )

    def clean(self) -> None:
        try:
            self.as_rules()
        except PricingInputError as error:
            field = error.field if hasattr(self, error.field) else "__all__"
            raise ValidationError({field: error.message}) from error

    @classmethod
    def default_rules(cls) -> EngineRuleSet | None:
        default = cls.objects.filter(is_default=True).first()
        return default.as_rules() if default else None
