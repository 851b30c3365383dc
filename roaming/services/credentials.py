"""The OCPI credentials handshake, in both directions, and the connection's life after it.

Directions (checklist §3.3):
- we register with a partner (`register_with_partner`): they gave us token A out of band;
- a partner registers with us (`accept_registration`): we gave them token A
  (`issue_registration_token`), they POST their credentials to us.
Rotation and unregistration exist both ways too. A failed handshake leaves nothing behind: no
half-connected partner, and the token that was valid before stays valid.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from pydantic import TypeAdapter, ValidationError

from roaming.models import Partner
from roaming.ocpi.client import OcpiClient, TransportError
from roaming.ocpi.envelope import Status, validation_message
from roaming.ocpi.v221.credentials import Credentials, CredentialsRole, InterfaceRole, Version, VersionDetails
from roaming.services import hubs

logger = logging.getLogger(__name__)

SUPPORTED_VERSION = "2.2.1"


class RegistrationError(Exception):
    """The handshake cannot go on. `status_code` is the OCPI status to answer a partner with."""

    def __init__(self, message: str, *, status_code: int = Status.UNABLE_TO_USE_CLIENT_API) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def our_versions_url() -> str:
    return settings.OCPI_BASE_URL + reverse("ocpi-versions")


def our_credentials(token: str) -> dict:
    business: dict[str, str] = {"name": settings.OCPI_BUSINESS_NAME}
    if settings.OCPI_BUSINESS_WEBSITE:
        business["website"] = settings.OCPI_BUSINESS_WEBSITE
    return {
        "token": token,
        "url": our_versions_url(),
        "roles": [
            {
                "role": "EMSP",
                "business_details": business,
                "party_id": settings.OCPI_PARTY_ID,
                "country_code": settings.OCPI_COUNTRY_CODE,
            }
        ],
    }


_VERSIONS = TypeAdapter(list[Version])


def _discover_once(versions_url: str, token: str, base64_token: bool) -> VersionDetails:
    with OcpiClient(token, base64_token=base64_token) as client:
        try:
            versions_response = client.request("GET", versions_url)
        except TransportError as error:
            raise RegistrationError(f"Cannot read the versions endpoint: {error.message}") from error
        try:
            versions = _VERSIONS.validate_python(versions_response.data)
        except ValidationError as error:
            raise RegistrationError(
                f"The versions endpoint did not return a list of versions: {validation_message(error)}"
            ) from error
        chosen = next((v for v in versions if v.version == SUPPORTED_VERSION), None)
        if chosen is None:
            offered = ", ".join(v.version for v in versions) or "none"
            raise RegistrationError(
                f"The partner offers no OCPI {SUPPORTED_VERSION} (it offers: {offered}).",
                status_code=Status.UNSUPPORTED_VERSION,
            )
        try:
            details_response = client.request("GET", chosen.url)
        except TransportError as error:
            raise RegistrationError(
                f"Cannot read the {SUPPORTED_VERSION} version details: {error.message}"
            ) from error
        try:
            details = VersionDetails.model_validate(details_response.data)
        except ValidationError as error:
            raise RegistrationError(
                f"The version details are not valid: {validation_message(error)}"
            ) from error
    if details.find("credentials") is None:
        raise RegistrationError(
            "The partner's version details list no credentials endpoint.",
            status_code=Status.NO_MATCHING_ENDPOINTS,
        )
    return details


def discover(versions_url: str, token: str, *, base64_token: bool = True) -> tuple[VersionDetails, bool]:
    """Read a partner's versions and 2.2.1 details. Returns the details and the token encoding that worked.

    A peer that refuses the Base64 token (HTTP 401) is tried once more with the raw token, so
    2.1.1-style peers connect without staff having to know which kind they are.
    """
    try:
        return _discover_once(versions_url, token, base64_token), base64_token
    except RegistrationError as error:
        cause = error.__cause__
        if isinstance(cause, TransportError) and cause.http_status in (401, 403):
            return _discover_once(versions_url, token, not base64_token), not base64_token
        raise


def _endpoint_rows(details: VersionDetails) -> list[dict[str, str]]:
    return [{"identifier": e.identifier, "role": e.role.value, "url": e.url} for e in details.endpoints]


def _role_rows(roles: list[CredentialsRole]) -> list[dict[str, str]]:
    return [
        {
            "role": r.role.value,
            "country_code": r.country_code,
            "party_id": r.party_id,
            "business_name": r.business_details.name,
            "business_website": r.business_details.website or "",
        }
        for r in roles
    ]


def _credentials_url(partner: Partner) -> str:
    url = partner.endpoint_url("credentials", InterfaceRole.SENDER.value) or partner.endpoint_url(
        "credentials", InterfaceRole.RECEIVER.value
    )
    if not url:
        raise RegistrationError(
            "We hold no credentials endpoint for this partner; re-read its versions first."
        )
    return url


# We register with them -------------------------------------------------------------------------


def register_with_partner(*, versions_url: str, token_a: str, name: str = "") -> Partner:
    """Open a connection with a partner that gave us `token_a`. Raises RegistrationError."""
    if Partner.objects.filter(versions_url=versions_url, status=Partner.Status.CONNECTED).exists():
        raise RegistrationError(
            "We are already connected to this versions URL; rotate the credentials instead, or, if the partner"
            " lost our registration (a simulator restarted), run ocpi_register again with --replace."
        )
    details, base64_token = discover(versions_url, token_a)
    credentials_endpoint = details.find("credentials")
    assert credentials_endpoint is not None  # discover() guarantees it

    partner = Partner(
        name=name or urlsplit(versions_url).hostname or "partner",
        status=Partner.Status.REGISTERING,
        versions_url=versions_url,
        version=SUPPORTED_VERSION,
        token_base64=base64_token,
    )
    token_b = partner.issue_inbound_token()
    # Committed before the POST: the partner calls our versions endpoint with token B while
    # it handles our POST, and must find it.
    partner.save()
    partner.replace_endpoints(_endpoint_rows(details))
    try:
        with OcpiClient(token_a, base64_token=base64_token) as client:
            # Not sent again once it may have reached the partner: token A works once, and a
            # second POST would be refused (401) even though the first one registered us.
            response = client.request("POST", credentials_endpoint.url, json_body=our_credentials(token_b), idempotent=False)
        theirs = Credentials.model_validate(response.data)
    except (TransportError, ValidationError) as error:
        partner.delete()
        message = error.message if isinstance(error, TransportError) else validation_message(error)
        if isinstance(error, TransportError) and not error.permanent and not error.unsent:
            message += (
                ". The partner may have received our credentials and used up token A: if registering again is"
                " refused, ask the partner for a new token A"
            )
        raise RegistrationError(f"The partner did not accept our credentials: {message}") from error

    with transaction.atomic():
        partner.outbound_token = theirs.token
        partner.status = Partner.Status.CONNECTED
        if not name:
            partner.name = theirs.roles[0].business_details.name
        partner.save()
        partner.replace_roles(_role_rows(theirs.roles))
    partner.record_contact()
    logger.info("Registered with partner %s (%s), %d role(s)", partner.pk, partner.name, len(theirs.roles))
    hubs.refresh_clients(partner=partner)  # a hub: the parties behind it, before the first pull
    return partner


def rotate_credentials(*, partner: Partner) -> Partner:
    """New tokens both ways (we PUT our new token, they answer with theirs); old ones die."""
    if not partner.is_connected:
        raise RegistrationError("Only a connected partner's credentials can be rotated.")
    url = _credentials_url(partner)
    previous_hash = partner.inbound_token_hash
    new_inbound = partner.issue_inbound_token()
    partner.save(update_fields=["inbound_token_hash", "inbound_token_is_registration", "updated_at"])
    try:
        with OcpiClient(partner.outbound_token, base64_token=partner.token_base64) as client:
            response = client.request("PUT", url, json_body=our_credentials(new_inbound))
        theirs = Credentials.model_validate(response.data)
    except (TransportError, ValidationError) as error:
        # The old token goes on working: the partner never learnt the new one.
        Partner.objects.filter(pk=partner.pk).update(inbound_token_hash=previous_hash)
        partner.inbound_token_hash = previous_hash
        message = error.message if isinstance(error, TransportError) else validation_message(error)
        partner.record_error(f"Credentials rotation failed: {message}")
        raise RegistrationError(f"Credentials rotation failed: {message}") from error
    with transaction.atomic():
        # Only what the rotation changed: the row as read before the PUT is stale by now (a
        # Retry-After, an error recorded by a pull, the partner's own DELETE meanwhile).
        if partner.lock_row() != Partner.Status.CONNECTED:
            raise RegistrationError(f"{partner} unregistered while its credentials were being rotated; nothing was kept.")
        partner.outbound_token = theirs.token
        partner.save(update_fields=["outbound_token", "updated_at"])
        partner.replace_roles(_role_rows(theirs.roles))
    partner.record_contact()
    return partner


def unregister_from_partner(*, partner: Partner) -> str:
    """DELETE our credentials at the partner, then forget its tokens. Returns a note for staff."""
    note = "Unregistered."
    if partner.is_connected and partner.outbound_token:
        try:
            url = _credentials_url(partner)
            with OcpiClient(partner.outbound_token, base64_token=partner.token_base64, retries=1) as client:
                client.request("DELETE", url)
        except (TransportError, RegistrationError) as error:
            message = error.message
            partner.record_error(f"Unregister at partner failed: {message}")
            note = f"Unregistered here; the partner could not be told ({message})."
    partner.revoke_tokens()
    partner.status = Partner.Status.UNREGISTERED
    partner.save()
    return note


def refresh_versions(*, partner: Partner) -> Partner:
    """Re-read the partner's versions and endpoints with our current token (and a hub's clients)."""
    try:
        details, _ = discover(partner.versions_url, partner.outbound_token, base64_token=partner.token_base64)
    except RegistrationError as error:
        partner.record_error(error.message)
        raise
    partner.replace_endpoints(_endpoint_rows(details))
    partner.record_contact()
    hubs.refresh_clients(partner=partner)
    return partner


# They register with us -------------------------------------------------------------------------


def issue_registration_token(*, name: str) -> tuple[Partner, str]:
    """A one-time token A for a partner who starts the handshake. Shown once, stored hashed."""
    partner = Partner(name=name, status=Partner.Status.PENDING)
    token_a = partner.issue_inbound_token(registration=True)
    partner.save()
    return partner, token_a


def _adopt(partner: Partner, credentials: Credentials) -> dict:
    details, base64_token = discover(credentials.url, credentials.token, base64_token=partner.token_base64)
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        locked.versions_url = credentials.url
        locked.version = SUPPORTED_VERSION
        locked.outbound_token = credentials.token
        locked.token_base64 = base64_token
        new_inbound = locked.issue_inbound_token()
        locked.status = Partner.Status.CONNECTED
        locked.last_error = ""
        locked.save()
        locked.replace_endpoints(_endpoint_rows(details))
        locked.replace_roles(_role_rows(credentials.roles))
    return our_credentials(new_inbound)


def accept_registration(*, partner: Partner, credentials: Credentials) -> dict:
    """A partner POSTs its credentials with our token A; we answer with token C (token A dies)."""
    return _adopt(partner, credentials)


def accept_rotation(*, partner: Partner, credentials: Credentials) -> dict:
    """A connected partner PUTs new credentials; we answer with a new token (the old one dies)."""
    return _adopt(partner, credentials)


def accept_unregistration(*, partner: Partner) -> None:
    partner.revoke_tokens()
    partner.status = Partner.Status.UNREGISTERED
    partner.save()
