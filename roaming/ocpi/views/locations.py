"""The Locations module as Receiver (checklist §4.1): CPOs push Locations, EVSEs and connectors.

`/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]`, GET, PUT and PATCH;
the depth of the URL says which object the body is. Answers:
- PUT: HTTP 201 when created, 200 when replaced; PATCH: 200. No data (the spec defines none).
  Older than what we hold: 200 and status 1000 (acknowledged, not applied; the message says so).
- Body ids differ from the URL's (PUT), or a PATCH tries to change one: 2001 naming the field.
  PATCH without `last_updated`, wrong types, unknown enum values…: 2001 with the field path.
- The URL's party is not among the caller's credentials roles, or the object is held for another
  connection: HTTP 404, 2000 (checklist §2.2 allows 404 for pushes to a party not one's own).
- Unknown Location (GET, PATCH, or PUT of an EVSE/connector under it): HTTP 404, 2003 "unknown
  location" — the spec's own code for it; the CPO should PUT the whole Location first. On a PUT
  or PATCH we also ask the CPO's Sender for that Location (`services.fetch`), as the checklist
  recommends, and again when one names an EVSE or connector we do not hold.
- Unknown EVSE or connector (GET, PATCH, PUT of a connector under an unknown EVSE): HTTP 404,
  2000. The spec has no status for them (2003 is Locations only, and 2001 is about the request's
  content, not a missing resource), so: "GET on a non-existing resource → 404" with the generic
  client error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from roaming.ocpi.envelope import InvalidParameters, NotFound, Status
from roaming.ocpi.v221.common import describe_errors
from roaming.ocpi.v221.locations import (
    Connector,
    ConnectorPatch,
    Evse,
    EvsePatch,
    IdentifierMismatch,
    Location,
    LocationPatch,
    check_patch_identifiers,
    check_put_identifiers,
)
from roaming.ocpi.views.base import OcpiRequest, Result, ocpi_view
from roaming.services import fetch, push

Model = TypeVar("Model", bound=BaseModel)

PATH_HELP = "/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]"


# Shared with the tariffs view ----------------------------------------------------------------------


def require_party(ocpi: OcpiRequest, country_code: str, party_id: str) -> None:
    if not ocpi.partner.may_act_for(country_code, party_id):
        raise NotFound(f"{country_code}*{party_id} is not one of the parties in your credentials roles.")


def parse(ocpi: OcpiRequest, model: type[Model]) -> Model:
    body = ocpi.json()
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidParameters(
            f"Invalid {model.__name__}: " + "; ".join(describe_errors(exc, model))
        ) from exc


@contextmanager
def service_errors() -> Iterator[None]:
    try:
        yield
    except push.UnknownLocation as error:
        raise NotFound(error.message, status_code=Status.UNKNOWN_LOCATION) from error
    except (push.UnknownObject, push.NotOwned) as error:
        raise NotFound(error.message) from error


def written(outcome: push.Outcome) -> Result:
    if outcome is push.Outcome.IGNORED_OLDER:
        return Result(message="Older than the version we hold (last_updated); acknowledged, not applied.")
    if outcome is push.Outcome.UNCHANGED:
        return Result(message="Same last_updated as the version we hold; nothing changed.")
    return Result(http_status=201 if outcome is push.Outcome.CREATED else 200)


# Views ---------------------------------------------------------------------------------------------


@ocpi_view(module="locations", methods=("GET", "PUT", "PATCH"))
def locations(ocpi: OcpiRequest, **_: Any) -> Result:
    """The module's base URL (published in version details) and any malformed path under it."""
    raise NotFound(f"Address a Location, EVSE or Connector as …/locations{PATH_HELP}.")


@ocpi_view(module="locations", methods=("GET", "PUT", "PATCH"))
def location_object(
    ocpi: OcpiRequest,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
) -> Result | dict[str, Any]:
    require_party(ocpi, country_code, party_id)
    partner = ocpi.partner
    where = {"country_code": country_code, "party_id": party_id, "location_id": location_id}
    with service_errors():
        if ocpi.method == "GET":
            return push.pushed_location(
                partner=partner, evse_uid=evse_uid, connector_id=connector_id, **where
            )
        try:
            if ocpi.method == "PUT":
                return written(_put(ocpi, where, evse_uid, connector_id))
            return written(_patch(ocpi, where, evse_uid, connector_id))
        except (push.UnknownLocation, push.UnknownObject):
            # Our copy of this Location is missing or behind: ask the CPO for it (see fetch).
            fetch.queue_location_fetch(partner=partner, **where)
            raise


def _put(
    ocpi: OcpiRequest, where: dict[str, str], evse_uid: str | None, connector_id: str | None
) -> push.Outcome:
    partner = ocpi.partner
    if evse_uid is None:
        location = parse(ocpi, Location)
        _same_ids(check_put_identifiers, location, where)
        return push.put_location(partner=partner, location=location)
    if connector_id is None:
        evse = parse(ocpi, Evse)
        _same_ids(check_put_identifiers, evse, where, evse_uid=evse_uid)
        return push.put_evse(partner=partner, evse=evse, **where)
    connector = parse(ocpi, Connector)
    _same_ids(check_put_identifiers, connector, where, evse_uid=evse_uid, connector_id=connector_id)
    return push.put_connector(partner=partner, evse_uid=evse_uid, connector=connector, **where)


def _patch(
    ocpi: OcpiRequest, where: dict[str, str], evse_uid: str | None, connector_id: str | None
) -> push.Outcome:
    partner = ocpi.partner
    if evse_uid is None:
        location = parse(ocpi, LocationPatch)
        _same_ids(check_patch_identifiers, location, where)
        return push.patch_location(partner=partner, patch=location, **where)
    if connector_id is None:
        evse = parse(ocpi, EvsePatch)
        _same_ids(check_patch_identifiers, evse, where, evse_uid=evse_uid)
        return push.patch_evse(partner=partner, evse_uid=evse_uid, patch=evse, **where)
    connector = parse(ocpi, ConnectorPatch)
    _same_ids(check_patch_identifiers, connector, where, evse_uid=evse_uid, connector_id=connector_id)
    return push.patch_connector(
        partner=partner, evse_uid=evse_uid, connector_id=connector_id, patch=connector, **where
    )


def _same_ids(check: Any, body: BaseModel, where: dict[str, str], **child_ids: str) -> None:
    try:
        check(body, **where, **child_ids)
    except IdentifierMismatch as mismatch:
        raise InvalidParameters(f"Identifiers may not differ from the URL's: {mismatch}") from mismatch
