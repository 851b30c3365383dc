from django.apps import AppConfig


class RoamingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "roaming"
