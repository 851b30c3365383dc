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
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection, transaction

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
    """An enum member's value. The OCPI wire enums are StrEnums: a member already is its str."""
    if isinstance(item, str):
        return item
    return item.value if isinstance(item, Enum) else item


def _values(items: Iterable[Any] | None) -> list[Any]:
    """A list of enum members as a list of str (StrEnum members are str: no conversion needed)."""
    if not items:
        return []
    return [item if isinstance(item, str) else _value(item) for item in items]


def _lon_lat(coordinates: Any) -> tuple[float, float] | None:
    if coordinates is None:
        return None
    return (float(coordinates.longitude), float(coordinates.latitude))


def _as_point(lon_lat: tuple[float, float] | None) -> Point | None:
    return None if lon_lat is None else Point(*lon_lat, srid=4326)


def _dump(obj: Any, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return obj.model_dump(mode="json", exclude_none=True, exclude=exclude)


def _without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != name}


def _name(details: Any) -> str:
    return details.name if details is not None else ""


def connector_power_w(power_type: str, voltage: int | None, amperage: int | None, max_electric_power: int | None) -> int:
    """A connector's maximum power in W: max_electric_power, else voltage × amperage × phases; 0 when unknown."""
    if max_electric_power:
        return max_electric_power
    if not (voltage and amperage):
        return 0  # unknown: the map shows no power rather than a wrong one
    phases = 3 if power_type == "AC_3_PHASE" else (2 if power_type.startswith("AC_2") else 1)
    return voltage * amperage * phases


@dataclass(frozen=True, slots=True)
class EvseFacts:
    """What the map summary needs to know of one EVSE, whatever it was read from."""

    status: str
    capabilities: Sequence[str]
    last_updated: dt.datetime
    connectors: Sequence[tuple[str, int]]  # (standard, power W)


_TENTH = Decimal("0.1")


def summarize(*, publish: bool, evses: Iterable[EvseFacts]) -> dict[str, Any]:
    """The per-location summary fields, from its EVSEs. One function for every write path."""
    active = [e for e in evses if e.status != EVSE.Status.REMOVED]
    max_power_w = max((power for e in active for _, power in e.connectors), default=0)
    return {
        "evse_count": len(active),
        "available_evse_count": sum(1 for e in active if e.status == EVSE.Status.AVAILABLE),
        "max_power_kw": (Decimal(max_power_w) / 1000).quantize(_TENTH),
        "connector_standards": sorted({standard for e in active for standard, _ in e.connectors}),
        "remote_start_capable": any("REMOTE_START_STOP_CAPABLE" in e.capabilities for e in active),
        "ad_hoc_payment_capable": any(not AD_HOC_CAPABILITIES.isdisjoint(e.capabilities) for e in active),
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
                connector_power_w(_value(c.power_type), c.max_voltage, c.max_amperage, c.max_electric_power),
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
            (c.standard, connector_power_w(c.power_type, c.max_voltage, c.max_amperage, c.max_electric_power))
            for c in connectors
        ],
    )


# Locations ---------------------------------------------------------------------------------------


@dataclass
class StoreResult:
    stored: int = 0
    unchanged: int = 0
    older_ignored: int = 0


def _location_columns(partner: Partner, wire: Any, now: dt.datetime, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Location's columns (attnames; `point` as (longitude, latitude)), summary included.

    `source` is the JSON object as received when it validated as is: it is kept as `raw`
    (what the partner sent, for audit), which also spares re-serialising the model.
    """
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
        # The location without its EVSEs: each EVSE row keeps its own raw (without connectors,
        # which are columns), so the object is held once, not twice.
        "raw": _without(source, "evses") if source is not None else _dump(wire, exclude={"evses"}),
        "received_at": now,
    }
    columns.update(summarize(publish=wire.publish, evses=[facts_from_wire(e) for e in wire.evses or []]))
    return columns


def _location_row(partner: Partner, wire: Any, now: dt.datetime) -> Location:
    columns = _location_columns(partner, wire, now)
    return Location(**{**columns, "point": _as_point(columns["point"])})


def _evse_columns(location_id: int, wire: Any, source: dict[str, Any] | None = None) -> dict[str, Any]:
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
        "raw": _without(source, "connectors") if source is not None else _dump(wire, exclude={"connectors"}),
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


def _select_in(model: type[Any], columns: Sequence[str], column: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """`SELECT columns FROM model WHERE column IN values`, in plain SQL (no ORM compilation per page)."""
    if not values:
        return []
    quote = connection.ops.quote_name
    head = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} WHERE {quote(column)} "  # noqa: S608
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(head + "= ANY(%s)", [list(values)])
            return cursor.fetchall()
        # SQLite: one row holding a JSON array, not a row per match. sqlite3 releases the GIL on
        # every step; with the page fetcher thread busy, each re-acquisition waits its turn.
        packed = f"SELECT json_group_array(json_array({', '.join(quote(c) for c in columns)})) FROM {quote(model._meta.db_table)} WHERE {quote(column)} "  # noqa: S608
        for chunk in _chunks(list(values)):
            cursor.execute(packed + f"IN ({', '.join(['%s'] * len(chunk))})", chunk)
            found.extend(tuple(row) for row in json.loads(cursor.fetchone()[0]))
    return found


def _newer_than_held(
    model: type[Location] | type[Tariff], wires: Sequence[Any], result: StoreResult
) -> tuple[list[tuple[str, int]], set[str]]:
    """(key, index in `wires`) of the objects newer than what we hold, and the keys we held.

    Counts the rest in `result`. A page may repeat an object (keep the newest); an older one is
    acknowledged and ignored; an identical `last_updated` is a no-op, so re-running a full pull
    rewrites nothing.
    """
    newest: dict[str, int] = {}
    for index, wire in enumerate(wires):
        key = Location.make_key(wire.country_code, wire.party_id, wire.id)
        if key not in newest or wire.last_updated >= wires[newest[key]].last_updated:
            newest[key] = index
    held: dict[str, dt.datetime] = dict(_select_in(model, ["key", "last_updated"], "key", list(newest)))
    if connection.vendor != "postgresql":  # a plain SQLite cursor gives naive UTC: Django's own converter
        convert = connection.ops.convert_datetimefield_value
        held = {key: convert(value, None, connection) for key, value in held.items()}
    changed = []
    for key, index in newest.items():
        last_updated = wires[index].last_updated
        if key in held and last_updated < held[key]:
            result.older_ignored += 1
        elif key in held and last_updated == held[key]:
            result.unchanged += 1
        else:
            changed.append((key, index))
    return changed, set(held)


def _upsert(model: type[Any], rows: list[dict[str, Any]], *, conflict: Sequence[str], returning: Sequence[str] = ()) -> list[tuple[Any, ...]] | None:
    if not rows:
        return [] if returning else None
    columns = list(rows[0])
    return bulk.upsert(model, columns, [list(row.values()) for row in rows], conflict=conflict, returning=returning)


@transaction.atomic
def store_locations(
    *,
    partner: Partner,
    locations: Sequence[Any],
    now: dt.datetime | None = None,
    sources: Sequence[dict[str, Any] | None] | None = None,
) -> StoreResult:
    """Upsert whole Locations (a sync page, or one PUT). The caller has checked party ownership.

    `sources`, when given, are the JSON objects as received (None where an object was
    repaired): they are kept as `raw`.
    """
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    changed, held = _newer_than_held(Location, locations, result)
    if not changed:
        return result
    source_of = (lambda index: sources[index]) if sources is not None else (lambda index: None)

    rows = [_location_columns(partner, locations[index], now, source_of(index)) for _, index in changed]
    returned = _upsert(Location, rows, conflict=["key"], returning=["key", "id"])
    keys = [key for key, _ in changed]
    location_ids: dict[str, int] = dict(returned or _select_in(Location, ["key", "id"], "key", keys))  # type: ignore[arg-type]

    evse_rows: list[dict[str, Any]] = []
    for key, index in changed:
        wire, source = locations[index], source_of(index)
        evse_sources = source.get("evses") if source is not None else None
        for position, evse in enumerate(wire.evses or []):
            evse_rows.append(_evse_columns(location_ids[key], evse, evse_sources[position] if evse_sources else None))
    returned = _upsert(EVSE, evse_rows, conflict=["location_id", "uid_key"], returning=["location_id", "uid_key", "id"])
    # Locations we held before may have EVSEs this version no longer lists; new ones cannot.
    held_ids = [location_ids[key] for key in keys if key in held]
    if returned is None:  # SQLite: read the ids back
        returned = _select_in(EVSE, ["location_id", "uid_key", "id"], "location_id", list(location_ids.values()))
    elif held_ids:
        returned = returned + _select_in(EVSE, ["location_id", "uid_key", "id"], "location_id", held_ids)
    evse_ids: dict[tuple[int, str], int] = {(loc, uid): pk for loc, uid, pk in returned}
    seen = {evse_ids[(row["location_id"], row["uid_key"])] for row in evse_rows}
    if held_ids:
        held_set = set(held_ids)
        # OCPI never deletes: EVSEs a replacement no longer lists are REMOVED, kept for history.
        vanished = [pk for (loc, _), pk in evse_ids.items() if loc in held_set and pk not in seen]
        for chunk in _chunks(vanished):
            EVSE.objects.filter(pk__in=chunk).exclude(status=EVSE.Status.REMOVED).update(status=EVSE.Status.REMOVED, last_updated=now)
        rewritten = [pk for (loc, _), pk in evse_ids.items() if loc in held_set and pk in seen]
        for chunk in _chunks(rewritten):
            Connector.objects.filter(evse_id__in=chunk).delete()
    connector_rows: list[dict[str, Any]] = []
    for key, index in changed:
        location_id = location_ids[key]
        for evse in locations[index].evses or []:
            connector_rows.extend(_connector_columns(evse_ids[(location_id, evse.uid.upper())], evse.connectors))
    _upsert(Connector, connector_rows, conflict=["evse_id", "id_key"])
    result.stored = len(changed)
    return result


# Tariffs -----------------------------------------------------------------------------------------


@transaction.atomic
def store_tariffs(*, partner: Partner, tariffs: Sequence[Any], now: dt.datetime | None = None) -> StoreResult:
    """Upsert Tariffs; every new `last_updated` is kept as a TariffVersion (history for pricing)."""
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    indexed, _ = _newer_than_held(Tariff, tariffs, result)
    if not indexed:
        return result
    changed = [(key, tariffs[index]) for key, index in indexed]
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
