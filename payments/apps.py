from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"

    def ready(self) -> None:
        from roaming import selectors

        from .models import PriceRuleSet

        # The roaming admin's worked examples show the driver's price with our default rules.
        selectors.provide_driver_rules(PriceRuleSet.default_rules)
