"""Versions and version details: what we implement, each with its role (checklist §3.1)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from roaming.ocpi.views.base import OcpiRequest, ocpi_view

# (identifier, role, URL name). The single list of what we serve: the version details
# endpoint publishes exactly this, and tests check every entry answers.
IMPLEMENTED_ENDPOINTS: list[tuple[str, str, str]] = [
    ("credentials", "SENDER", "ocpi-credentials"),
    ("locations", "RECEIVER", "ocpi-locations"),
    ("tariffs", "RECEIVER", "ocpi-tariffs"),
    ("hubclientinfo", "RECEIVER", "ocpi-hubclientinfo"),
]


@ocpi_view(module="versions", methods=("GET",), registration_token=True)
def versions(ocpi: OcpiRequest) -> list[dict[str, str]]:
    return [{"version": "2.2.1", "url": settings.OCPI_BASE_URL + reverse("ocpi-version-details")}]


@ocpi_view(module="versions", methods=("GET",), registration_token=True)
def version_details(ocpi: OcpiRequest) -> dict:
    return {
        "version": "2.2.1",
        "endpoints": [
            {"identifier": identifier, "role": role, "url": settings.OCPI_BASE_URL + reverse(url_name)}
            for identifier, role, url_name in IMPLEMENTED_ENDPOINTS
        ],
    }
