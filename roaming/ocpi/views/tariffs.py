"""The Tariffs module as Receiver (checklist §5.1): CPOs push and delete Tariffs.

`/{country_code}/{party_id}/{tariff_id}`, GET, PUT and DELETE (PATCH existed only in 2.1.1:
405). PUT answers 201 when created (also when re-creating a deleted tariff), 200 when replaced,
200 "acknowledged, not applied" when older than what we hold; every version is kept. DELETE
is soft (history stays for sessions priced with it) and repeating it is harmless; a deleted
tariff is unknown to GET (404). Party, ownership and body errors are answered as in
`roaming.ocpi.views.locations`.
"""

from __future__ import annotations

from typing import Any

from roaming.ocpi.envelope import InvalidParameters, NotFound
from roaming.ocpi.v221.common import ci_equal
from roaming.ocpi.v221.locations import IdentifierMismatch
from roaming.ocpi.v221.tariffs import Tariff
from roaming.ocpi.views.base import OcpiRequest, Result, ocpi_view
from roaming.ocpi.views.locations import parse, require_party, service_errors, written
from roaming.services import push


@ocpi_view(module="tariffs", methods=("GET", "PUT", "DELETE"))
def tariffs(ocpi: OcpiRequest, **_: Any) -> Result:
    """The module's base URL (published in version details) and any malformed path under it."""
    raise NotFound("Address a Tariff as …/tariffs/{country_code}/{party_id}/{tariff_id}.")


@ocpi_view(module="tariffs", methods=("GET", "PUT", "DELETE"))
def tariff(ocpi: OcpiRequest, country_code: str, party_id: str, tariff_id: str) -> Result | dict[str, Any]:
    require_party(ocpi, country_code, party_id)
    where = {"country_code": country_code, "party_id": party_id, "tariff_id": tariff_id}
    with service_errors():
        if ocpi.method == "GET":
            return push.pushed_tariff(partner=ocpi.partner, **where)
        if ocpi.method == "DELETE":
            push.delete_pushed_tariff(partner=ocpi.partner, **where)
            return Result()
        body = parse(ocpi, Tariff)
        for name, url_value in (("country_code", country_code), ("party_id", party_id), ("id", tariff_id)):
            body_value = getattr(body, name)
            if not ci_equal(body_value, url_value):
                mismatch = IdentifierMismatch(name, url_value=url_value, body_value=body_value)
                raise InvalidParameters(f"Identifiers may not differ from the URL's: {mismatch}")
        return written(push.put_tariff(partner=ocpi.partner, tariff=body, received=ocpi.json()))
