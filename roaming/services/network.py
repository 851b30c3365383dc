"""Writing the aggregated network: Locations (with EVSEs and connectors) and Tariffs.

Everything here takes typed OCPI objects (pydantic models from roaming.ocpi.v221) and writes in
bulk: a sync page of a thousand locations is a handful of statements, not thousands of save()s.
Rules that hold on every write path, pull or push:
- keys compare case-insensitively (stored upper-cased);
- an object older than the one we hold is acknowledged and ignored; an identical
  `last_updated` is a no-op (re-running a full pull rewrites nothing);
- OCPI never deletes: an EVSE missing from a replaced Location is marked REMOVED, never dropped
  (sessions will point at it); a Location whose EVSEs are all REMOVED stops being visible;
- the per-location summary for the map is computed in the same pass as the write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction

from roaming.models import (
    EVSE,
    Connector,
    Location,
    Partner,
    QuarantinedObject,
    SyncRun,
    Tariff,
    TariffVersion,
)
from roaming.services import bulk

AD_HOC_CAPABILITIES = {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"}

LOCATION_FIELDS = [
    "partner",
    "country_code",
    "party_id",
    "ocpi_id",
    "publish",
    "name",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "point",
    "parking_type",
    "time_zone",
    "opening_times",
    "charging_when_closed",
    "facilities",
    "operator_name",
    "suboperator_name",
    "owner_name",
    "publish_allowed_to",
    "last_updated",
    "raw",
    "received_at",
]
SUMMARY_FIELDS = [
    "evse_count",
    "available_evse_count",
    "max_power_kw",
    "connector_standards",
    "remote_start_capable",
    "ad_hoc_payment_capable",
    "status_updated_at",
    "is_visible",
]


def _value(item: Any) -> Any:
    return item.value if isinstance(item, Enum) else item


def _values(items: Iterable[Any] | None) -> list[Any]:
    return [_value(item) for item in items or []]


def _lon_lat(coordinates: Any) -> tuple[float, float] | None:
    if coordinates is None:
        return None
    return (float(coordinates.longitude), float(coordinates.latitude))


def _as_point(lon_lat: tuple[float, float] | None) -> Point | None:
    return None if lon_lat is None else Point(*lon_lat, srid=4326)


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json", exclude_none=True)


def _name(details: Any) -> str:
    return details.name if details is not None else ""


def connector_power_kw(power_type: str, voltage: int | None, amperage: int | None, max_electric_power: int | None) -> Decimal:
    if max_electric_power:
        return Decimal(max_electric_power) / 1000
    if not (voltage and amperage):
        return Decimal(0)  # unknown: the map shows no power rather than a wrong one
    phases = 3 if power_type == "AC_3_PHASE" else (2 if power_type.startswith("AC_2") else 1)
    return Decimal(voltage * amperage * phases) / 1000


@dataclass(frozen=True)
class EvseFacts:
    """What the map summary needs to know of one EVSE, whatever it was read from."""

    status: str
    capabilities: Sequence[str]
    last_updated: dt.datetime
    connectors: Sequence[tuple[str, Decimal]]  # (standard, power kW)


def summarize(*, publish: bool, evses: Iterable[EvseFacts]) -> dict[str, Any]:
    """The per-location summary fields, from its EVSEs. One function for every write path."""
    active = [e for e in evses if e.status != EVSE.Status.REMOVED]
    powers = [power for e in active for _, power in e.connectors]
    return {
        "evse_count": len(active),
        "available_evse_count": sum(1 for e in active if e.status == EVSE.Status.AVAILABLE),
        "max_power_kw": max(powers, default=Decimal(0)).quantize(Decimal("0.1")),
        "connector_standards": sorted({standard for e in active for standard, _ in e.connectors}),
        "remote_start_capable": any("REMOTE_START_STOP_CAPABLE" in e.capabilities for e in active),
        "ad_hoc_payment_capable": any(AD_HOC_CAPABILITIES.intersection(e.capabilities) for e in active),
        "status_updated_at": max((e.last_updated for e in active), default=None),
        "is_visible": publish and bool(active),
    }


def facts_from_wire(evse: Any) -> EvseFacts:
    return EvseFacts(
        status=_value(evse.status),
        capabilities=_values(evse.capabilities),
        last_updated=evse.last_updated,
        connectors=[
            (
                _value(c.standard),
                connector_power_kw(_value(c.power_type), c.max_voltage, c.max_amperage, c.max_electric_power),
            )
            for c in evse.connectors
        ],
    )


def facts_from_row(evse: EVSE, connectors: Iterable[Connector]) -> EvseFacts:
    """One stored EVSE's facts; the caller supplies its connectors (already fetched or just written)."""
    return EvseFacts(
        status=evse.status,
        capabilities=evse.capabilities,
        last_updated=evse.last_updated,
        connectors=[
            (c.standard, connector_power_kw(c.power_type, c.max_voltage, c.max_amperage, c.max_electric_power))
            for c in connectors
        ],
    )


# Locations ---------------------------------------------------------------------------------------


@dataclass
class StoreResult:
    stored: int = 0
    unchanged: int = 0
    older_ignored: int = 0


def _location_columns(partner: Partner, wire: Any, now: dt.datetime) -> dict[str, Any]:
    """A Location's columns (attnames; `point` as (longitude, latitude)), summary included."""
    columns = {
        "partner_id": partner.pk,
        "country_code": wire.country_code.upper(),
        "party_id": wire.party_id.upper(),
        "ocpi_id": wire.id,
        "key": Location.make_key(wire.country_code, wire.party_id, wire.id),
        "publish": wire.publish,
        "name": wire.name or "",
        "address": wire.address,
        "city": wire.city or "",
        "postal_code": wire.postal_code or "",
        "state": wire.state or "",
        "country": wire.country,
        "point": _lon_lat(wire.coordinates),
        "parking_type": _value(wire.parking_type) or "",
        "time_zone": wire.time_zone,
        "opening_times": _dump(wire.opening_times) if wire.opening_times is not None else None,
        "charging_when_closed": True if wire.charging_when_closed is None else wire.charging_when_closed,
        "facilities": _values(wire.facilities),
        "operator_name": _name(wire.operator) or partner.name,
        "suboperator_name": _name(wire.suboperator),
        "owner_name": _name(wire.owner),
        "publish_allowed_to": [_dump(p) for p in wire.publish_allowed_to or []],
        "last_updated": wire.last_updated,
        "raw": _dump(wire),
        "received_at": now,
    }
    columns.update(summarize(publish=wire.publish, evses=[facts_from_wire(e) for e in wire.evses or []]))
    return columns


def _location_row(partner: Partner, wire: Any, now: dt.datetime) -> Location:
    columns = _location_columns(partner, wire, now)
    return Location(**{**columns, "point": _as_point(columns["point"])})


def _evse_columns(location_id: int, wire: Any) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "uid": wire.uid,
        "uid_key": wire.uid.upper(),
        "evse_id": wire.evse_id or "",
        "status": _value(wire.status),
        "capabilities": _values(wire.capabilities),
        "floor_level": wire.floor_level or "",
        "physical_reference": wire.physical_reference or "",
        "parking_restrictions": _values(wire.parking_restrictions),
        "point": _lon_lat(wire.coordinates),
        "last_updated": wire.last_updated,
        "raw": {k: v for k, v in _dump(wire).items() if k != "connectors"},
    }


def _evse_row(location_id: int, wire: Any) -> EVSE:
    columns = _evse_columns(location_id, wire)
    return EVSE(**{**columns, "point": _as_point(columns["point"])})


def _connector_columns(evse_id: int, connectors: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "evse_id": evse_id,
            "ocpi_id": c.id,
            "id_key": c.id.upper(),
            "standard": _value(c.standard),
            "format": _value(c.format),
            "power_type": _value(c.power_type),
            "max_voltage": c.max_voltage,
            "max_amperage": c.max_amperage,
            "max_electric_power": c.max_electric_power,
            "tariff_ids": list(c.tariff_ids or []),
            "terms_and_conditions": c.terms_and_conditions or "",
            "last_updated": c.last_updated,
        }
        for c in connectors
    ]


def _connector_rows(evse_id: int, connectors: Iterable[Any]) -> list[Connector]:
    return [Connector(**columns) for columns in _connector_columns(evse_id, connectors)]


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _newer_than_held(model: type[Location] | type[Tariff], wires: Sequence[Any], result: StoreResult) -> list[tuple[str, Any]]:
    """(key, object) pairs that are newer than what we hold; counts the rest in `result`.

    A page may repeat an object (keep the newest); an older one is acknowledged and ignored; an
    identical `last_updated` is a no-op, so re-running a full pull rewrites nothing.
    """
    newest: dict[str, Any] = {}
    for wire in wires:
        key = Location.make_key(wire.country_code, wire.party_id, wire.id)
        if key not in newest or wire.last_updated >= newest[key].last_updated:
            newest[key] = wire
    held: dict[str, dt.datetime] = {}
    for chunk in _chunks(list(newest)):
        held.update(model.objects.filter(key__in=chunk).values_list("key", "last_updated"))
    changed = []
    for key, wire in newest.items():
        if key in held and wire.last_updated < held[key]:
            result.older_ignored += 1
        elif key in held and wire.last_updated == held[key]:
            result.unchanged += 1
        else:
            changed.append((key, wire))
    return changed


@transaction.atomic
def store_locations(*, partner: Partner, locations: Sequence[Any], now: dt.datetime | None = None) -> StoreResult:
    """Upsert whole Locations (a sync page, or one PUT). The caller has checked party ownership."""
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    changed = [wire for _, wire in _newer_than_held(Location, locations, result)]
    if not changed:
        return result

    rows = [_location_columns(partner, wire, now) for wire in changed]
    bulk.upsert(Location, rows, conflict=["key"])
    location_ids: dict[str, int] = {}
    for chunk in _chunks([row["key"] for row in rows]):
        location_ids.update(Location.objects.filter(key__in=chunk).values_list("key", "id"))

    evse_rows: list[dict[str, Any]] = []
    for wire in changed:
        location_id = location_ids[Location.make_key(wire.country_code, wire.party_id, wire.id)]
        evse_rows.extend(_evse_columns(location_id, evse) for evse in wire.evses or [])
    bulk.upsert(EVSE, evse_rows, conflict=["location_id", "uid_key"])
    evse_ids: dict[tuple[int, str], int] = {}
    for chunk in _chunks(list(location_ids.values())):
        evse_ids.update(
            ((loc, uid), pk) for loc, uid, pk in EVSE.objects.filter(location_id__in=chunk).values_list("location_id", "uid_key", "id")
        )
    seen = {evse_ids[(row["location_id"], row["uid_key"])] for row in evse_rows}
    # OCPI never deletes: EVSEs a replacement no longer lists are REMOVED, kept for history.
    vanished = [pk for pk in evse_ids.values() if pk not in seen]
    for chunk in _chunks(vanished):
        EVSE.objects.filter(pk__in=chunk).exclude(status=EVSE.Status.REMOVED).update(status=EVSE.Status.REMOVED, last_updated=now)
    for chunk in _chunks(list(seen)):
        Connector.objects.filter(evse_id__in=chunk).delete()
    connector_rows: list[dict[str, Any]] = []
    for wire in changed:
        location_id = location_ids[Location.make_key(wire.country_code, wire.party_id, wire.id)]
        for evse in wire.evses or []:
            connector_rows.extend(_connector_columns(evse_ids[(location_id, evse.uid.upper())], evse.connectors))
    bulk.upsert(Connector, connector_rows, conflict=["evse_id", "id_key"])
    result.stored = len(changed)
    return result


# Tariffs -----------------------------------------------------------------------------------------


@transaction.atomic
def store_tariffs(*, partner: Partner, tariffs: Sequence[Any], now: dt.datetime | None = None) -> StoreResult:
    """Upsert Tariffs; every new `last_updated` is kept as a TariffVersion (history for pricing)."""
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    changed = _newer_than_held(Tariff, tariffs, result)
    if not changed:
        return result
    rows = [
        Tariff(
            partner=partner,
            country_code=wire.country_code.upper(),
            party_id=wire.party_id.upper(),
            ocpi_id=wire.id,
            key=key,
            currency=wire.currency,
            type=_value(wire.type) or "",
            start_date_time=wire.start_date_time,
            end_date_time=wire.end_date_time,
            last_updated=wire.last_updated,
            deleted_at=None,
            raw=_dump(wire),
            received_at=now,
        )
        for key, wire in changed
    ]
    Tariff.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=[
            "partner",
            "currency",
            "type",
            "start_date_time",
            "end_date_time",
            "last_updated",
            "deleted_at",
            "raw",
            "received_at",
            "ocpi_id",
        ],
    )
    ids = dict(Tariff.objects.filter(key__in=[key for key, _ in changed]).values_list("key", "id"))
    TariffVersion.objects.bulk_create(
        [TariffVersion(tariff_id=ids[key], last_updated=wire.last_updated, raw=_dump(wire)) for key, wire in changed],
        ignore_conflicts=True,
    )
    result.stored = len(changed)
    return result


def delete_tariff(*, tariff: Tariff, now: dt.datetime | None = None) -> None:
    """A CPO DELETE: the tariff stops applying; its history stays for sessions that used it."""
    Tariff.objects.filter(pk=tariff.pk).update(deleted_at=now or dt.datetime.now(dt.UTC))


# Quarantine --------------------------------------------------------------------------------------


def quarantine(*, partner: Partner, module: str, rejects: Iterable[tuple[str, str, Any]], sync_run: SyncRun | None = None) -> int:
    """Keep what we could not understand, with the reason, for staff. `rejects`: (object id, reason, raw)."""
    rows = [
        QuarantinedObject(partner=partner, sync_run=sync_run, module=module, object_id=(object_id or "")[:64], reason=reason, raw=raw)
        for object_id, reason, raw in rejects
    ]
    QuarantinedObject.objects.bulk_create(rows, batch_size=500)
    return len(rows)
