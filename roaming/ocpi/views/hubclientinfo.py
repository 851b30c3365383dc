"""The HubClientInfo module as Receiver (checklist §10): a roaming hub tells us about its parties.

`/{country_code}/{party_id}`, GET and PUT (no routing headers: a configuration module). PUT
answers 201 when the party is new, 200 when updated, 200 "acknowledged, not applied" when older
than what we hold. Only a partner with a HUB role may send them (anyone else: HTTP 403, 2000);
body ids that differ from the URL's, an unknown role or status: 2001 naming the field.
"""

from __future__ import annotations

from typing import Any

from roaming.ocpi.envelope import InvalidParameters, NotFound, OcpiError
from roaming.ocpi.v221.common import ci_equal
from roaming.ocpi.v221.hubclientinfo import ClientInfo
from roaming.ocpi.v221.locations import IdentifierMismatch
from roaming.ocpi.views.base import OcpiRequest, Result, ocpi_view
from roaming.ocpi.views.locations import parse, service_errors, written
from roaming.services import hubs


@ocpi_view(module="hubclientinfo", methods=("GET", "PUT"))
def hub_clients(ocpi: OcpiRequest, **_: Any) -> Result:
    """The module's base URL (published in version details) and any malformed path under it."""
    raise NotFound("Address a ClientInfo as …/hubclientinfo/{country_code}/{party_id}.")


@ocpi_view(module="hubclientinfo", methods=("GET", "PUT"))
def client_info(ocpi: OcpiRequest, country_code: str, party_id: str) -> Result | dict[str, Any]:
    with service_errors():
        if ocpi.method == "GET":
            return hubs.client_info(partner=ocpi.partner, country_code=country_code, party_id=party_id)
        body = parse(ocpi, ClientInfo)
        for name, url_value in (("country_code", country_code), ("party_id", party_id)):
            body_value = getattr(body, name)
            if not ci_equal(body_value, url_value):
                mismatch = IdentifierMismatch(name, url_value=url_value, body_value=body_value)
                raise InvalidParameters(f"Identifiers may not differ from the URL's: {mismatch}")
        try:
            return written(hubs.store_client_info(partner=ocpi.partner, info=body))
        except hubs.NotAHub as error:
            raise OcpiError(error.message, http_status=403) from error
