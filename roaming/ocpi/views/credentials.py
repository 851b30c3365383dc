"""The credentials module as server (checklist §3.3–3.4).

POST with token A registers; PUT rotates; DELETE unregisters; GET shows our credentials.
POST when already registered and PUT/DELETE when not registered are HTTP 405.
"""

from __future__ import annotations

from pydantic import ValidationError

from roaming.models import Partner
from roaming.ocpi.envelope import InvalidParameters, MethodNotAllowed, OcpiError, validation_message
from roaming.ocpi.v221.credentials import Credentials
from roaming.ocpi.views.base import OcpiRequest, Result, ocpi_view
from roaming.services import credentials as service


def _parse(ocpi: OcpiRequest) -> Credentials:
    body = ocpi.json()
    try:
        return Credentials.model_validate(body)
    except ValidationError as exc:
        raise InvalidParameters(f"Invalid credentials object: {validation_message(exc)}") from exc


def _handshake(call, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    try:
        return call(**kwargs)
    except service.RegistrationError as error:
        raise OcpiError(error.message, status_code=error.status_code) from error


@ocpi_view(module="credentials", methods=("GET", "POST", "PUT", "DELETE"), registration_token=True)
def credentials(ocpi: OcpiRequest) -> Result | dict | None:
    partner = ocpi.partner
    registered = not partner.inbound_token_is_registration and partner.status == Partner.Status.CONNECTED
    if ocpi.method == "GET":
        return service.our_credentials(ocpi.token)
    if ocpi.method == "POST":
        if registered:
            raise MethodNotAllowed(
                "Already registered: use PUT to update the credentials or DELETE to unregister."
            )
        return _handshake(service.accept_registration, partner=partner, credentials=_parse(ocpi))
    if not registered:
        raise MethodNotAllowed("Not registered: POST the credentials with a registration token first.")
    if ocpi.method == "PUT":
        return _handshake(service.accept_rotation, partner=partner, credentials=_parse(ocpi))
    service.accept_unregistration(partner=partner)
    return None
