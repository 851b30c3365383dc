"""OCPI routes. Every path is slash-optional: peers differ, and a 301 would lose a PUT body."""

from django.urls import re_path

from roaming.ocpi.views import credentials, hubclientinfo, locations, tariffs, versions

urlpatterns = [
    re_path(r"^versions/?$", versions.versions, name="ocpi-versions"),
    re_path(r"^2\.2\.1/?$", versions.version_details, name="ocpi-version-details"),
    re_path(r"^2\.2\.1/credentials/?$", credentials.credentials, name="ocpi-credentials"),
    # Locations and Tariffs receivers: the object routes first, then the module's base URL,
    # which also answers any other path under it with a 404 envelope.
    re_path(
        r"^2\.2\.1/locations/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<location_id>[^/]+)/?$",
        locations.location_object,
        name="ocpi-location",
    ),
    re_path(
        r"^2\.2\.1/locations/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<location_id>[^/]+)"
        r"/(?P<evse_uid>[^/]+)/?$",
        locations.location_object,
        name="ocpi-location-evse",
    ),
    re_path(
        r"^2\.2\.1/locations/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<location_id>[^/]+)"
        r"/(?P<evse_uid>[^/]+)/(?P<connector_id>[^/]+)/?$",
        locations.location_object,
        name="ocpi-location-connector",
    ),
    re_path(r"^2\.2\.1/locations/?$", locations.locations, name="ocpi-locations"),
    re_path(r"^2\.2\.1/locations/.*$", locations.locations),
    re_path(
        r"^2\.2\.1/tariffs/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/(?P<tariff_id>[^/]+)/?$",
        tariffs.tariff,
        name="ocpi-tariff",
    ),
    re_path(r"^2\.2\.1/tariffs/?$", tariffs.tariffs, name="ocpi-tariffs"),
    re_path(r"^2\.2\.1/tariffs/.*$", tariffs.tariffs),
    re_path(
        r"^2\.2\.1/hubclientinfo/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/?$",
        hubclientinfo.client_info,
        name="ocpi-hubclientinfo-party",
    ),
    re_path(r"^2\.2\.1/hubclientinfo/?$", hubclientinfo.hub_clients, name="ocpi-hubclientinfo"),
    re_path(r"^2\.2\.1/hubclientinfo/.*$", hubclientinfo.hub_clients),
]
