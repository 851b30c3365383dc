from django.contrib import admin

from .models import PriceRuleSet


@admin.register(PriceRuleSet)
class PriceRuleSetAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "per_kwh", "per_session", "percent", "max_markup", "vat_rate", "currency")
