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
    return [_value(item) for item in items or ()]


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


def _select(sql: str, values: Sequence[Any], *, array: str = "text") -> list[tuple[Any, ...]]:
    """Run `sql` (a SELECT ending in `IN`) for `values` (chunked on SQLite).

    On SQLite the rows come back packed in one JSON array: sqlite3 releases the GIL on every
    step, and with the page-preparing thread busy each re-acquisition would wait its turn.
    """
    if not values:
        return []
    found: list[tuple[Any, ...]] = []
    select, _, rest = sql.partition(" FROM ")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # "= ANY(array)" lets the planner use the index; "IN (SELECT unnest(…))" became a
            # hash join over the whole EVSE table.
            cursor.execute(sql.removesuffix(" IN") + f" = ANY(%s::{array}[])", [list(values)])
            return cursor.fetchall()
        packed = f"SELECT json_group_array(json_array({select.removeprefix('SELECT ')})) FROM {rest}"
        for chunk in _chunks(list(values)):
            cursor.execute(packed + f" ({', '.join(['%s'] * len(chunk))})", chunk)
            found.extend(tuple(row) for row in json.loads(cursor.fetchone()[0]))
    return found


def _held(model: type[Location] | type[Tariff], keys: Sequence[str]) -> tuple[dict[str, dt.datetime], dict[str, int]]:
    """What we hold of these keys: key → last_updated, and key → row id."""
    table = model._meta.db_table
    rows = _select(f'SELECT "key", "last_updated", "id" FROM "{table}" WHERE "key" IN', keys)
    ids = {key: pk for key, _, pk in rows}
    versions = {key: last_updated for key, last_updated, _ in rows}
    if connection.vendor != "postgresql":  # a plain SQLite cursor gives naive UTC text: Django's own converter
        convert = connection.ops.convert_datetimefield_value
        versions = {key: convert(value, None, connection) for key, value in versions.items()}
    return versions, ids


def _newest(wires: Sequence[Any]) -> dict[str, int]:
    """Key → index of the newest object with that key (a page may repeat an object)."""
    newest: dict[str, int] = {}
    for index, wire in enumerate(wires):
        key = Location.make_key(wire.country_code, wire.party_id, wire.id)
        if key not in newest or wire.last_updated >= wires[newest[key]].last_updated:
            newest[key] = index
    return newest


def _compare(versions: dict[str, dt.datetime], held: dict[str, dt.datetime], result: StoreResult) -> list[str]:
    """The keys newer than what we hold; counts the rest in `result`.

    An older object is acknowledged and ignored; an identical `last_updated` is a no-op, so
    re-running a full pull rewrites nothing.
    """
    changed = []
    for key, last_updated in versions.items():
        if key in held and last_updated < held[key]:
            result.older_ignored += 1
        elif key in held and last_updated == held[key]:
            result.unchanged += 1
        else:
            changed.append(key)
    return changed


@dataclass
class PreparedLocations:
    """Locations made ready for the database by `prepare_locations` (any thread, no queries).

    Each table's rows are one `bulk.Batch`. EVSE rows name their location by key, connector
    rows their EVSE by location key and uid: the database resolves the ids in the same
    statement, so nothing waits on a round trip between the tables.
    """

    versions: dict[str, dt.datetime]  # key → last_updated
    listed: dict[str, dict[str, set[str]]]  # key → EVSE uid_key → connector id_keys
    locations: bulk.Batch
    evses: bulk.Batch  # (location key, columns…)
    connectors: bulk.Batch  # (location key, EVSE uid_key, columns…)


def prepare_locations(
    *,
    partner: Partner,
    locations: Sequence[Any],
    encoder: bulk.Encoder,
    sources: Sequence[dict[str, Any] | None] | None = None,
    now: dt.datetime | None = None,
) -> PreparedLocations:
    """Rows for whole Locations (a sync page, or one PUT); `sources`: see `store_locations`."""
    now = now or dt.datetime.now(dt.UTC)
    location_rows: list[list[Any]] = []
    evse_rows: list[list[Any]] = []
    connector_rows: list[list[Any]] = []
    versions: dict[str, dt.datetime] = {}
    listed: dict[str, dict[str, set[str]]] = {}
    location_columns: list[str] = []
    evse_columns: list[str] = []
    connector_columns: list[str] = []
    for key, index in _newest(locations).items():
        wire = locations[index]
        source = sources[index] if sources is not None else None
        columns = _location_columns(partner, wire, now, source)
        location_columns = location_columns or list(columns)
        location_rows.append(list(columns.values()))
        versions[key] = wire.last_updated
        evses = listed[key] = {}
        evse_sources = source.get("evses") if source is not None else None
        for position, evse in enumerate(wire.evses or []):
            evse_row = _evse_columns(0, evse, evse_sources[position] if evse_sources else None)
            evse_columns = evse_columns or list(evse_row)[1:]
            uid_key = evse_row["uid_key"]
            values = list(evse_row.values())
            values[0] = key  # location_id → the location's key
            evse_rows.append(values)
            connector_ids = evses[uid_key] = set()
            for connector_row in _connector_columns(0, evse.connectors):
                connector_columns = connector_columns or list(connector_row)[1:]
                connector_ids.add(connector_row["id_key"])
                values = list(connector_row.values())
                values[0] = uid_key  # evse_id → the EVSE's uid, with the location's key before it
                connector_rows.append([key, *values])
    return PreparedLocations(
        versions=versions,
        listed=listed,
        locations=encoder.batch(bulk.model_fields(Location, location_columns), location_rows),
        evses=encoder.batch([None, *bulk.model_fields(EVSE, evse_columns)], evse_rows),
        connectors=encoder.batch([None, None, *bulk.model_fields(Connector, connector_columns)], connector_rows),
    )


@transaction.atomic
def write_locations(prepared: PreparedLocations) -> StoreResult:
    """Write prepared Locations: newer ones replace what we hold, with their EVSEs and connectors."""
    result = StoreResult()
    held, held_ids = _held(Location, list(prepared.versions))
    changed = _compare(prepared.versions, held, result)
    if not changed:
        return result
    only_changed = [json.dumps(changed)]
    location_table, evse_table = Location._meta.db_table, EVSE._meta.db_table
    with connection.cursor() as cursor:
        batch = prepared.locations
        columns = batch.columns
        for source, params in batch.chunks(reserve=1):
            bulk.execute(
                cursor,
                bulk.insert_into(Location, columns)
                + f"SELECT {batch.cells()} FROM {source} WHERE {bulk.in_list(batch.text(columns.index('key')))} "
                + f"ORDER BY {batch.order()}"
                + bulk.on_conflict(["key"], [c for c in columns if c != "key"])
                # Belt and braces against a concurrent writer between our read and this write.
                + f' WHERE "{location_table}"."last_updated" < excluded."last_updated"',
                params + only_changed,
            )
        _retire_unlisted({held_ids[key]: key for key in changed if key in held}, prepared.listed, dt.datetime.now(dt.UTC))
        batch = prepared.evses
        columns = batch.columns
        for source, params in batch.chunks(reserve=1) if batch.rows else ():
            bulk.execute(
                cursor,
                bulk.insert_into(EVSE, ["location_id", *columns])
                + f"SELECT l.id, {batch.cells(1)} "
                + f'FROM {source} JOIN "{location_table}" l ON l."key" = {batch.text(0)} '
                + f"WHERE {bulk.in_list(batch.text(0))} ORDER BY {batch.order()}"
                + bulk.on_conflict(["location_id", "uid_key"], [c for c in columns if c != "uid_key"])
                # Every column derives from raw, but for a status set by _retire_unlisted.
                + bulk.any_changed(EVSE, ["raw", "status", "last_updated"]),
                params + only_changed,
            )
        batch = prepared.connectors
        columns = batch.columns
        for source, params in batch.chunks(reserve=1) if batch.rows else ():
            bulk.execute(
                cursor,
                bulk.insert_into(Connector, ["evse_id", *columns])
                + f"SELECT e.id, {batch.cells(2)} "
                + f'FROM {source} JOIN "{location_table}" l ON l."key" = {batch.text(0)} '
                + f'JOIN "{evse_table}" e ON e."location_id" = l.id AND e."uid_key" = {batch.text(1)} '
                + f"WHERE {bulk.in_list(batch.text(0))} ORDER BY {batch.order()}"
                + bulk.on_conflict(["evse_id", "id_key"], [c for c in columns if c != "id_key"])
                + bulk.any_changed(Connector, [c for c in columns if c != "id_key"]),
                params + only_changed,
            )
    result.stored = len(changed)
    return result


def _retire_unlisted(keys: dict[int, str], listed: dict[str, dict[str, set[str]]], now: dt.datetime) -> None:
    """For locations we held before: what the new version no longer lists.

    OCPI never deletes: an EVSE left out is marked REMOVED and kept for history (sessions point
    at it). A connector left out of a listed EVSE is deleted; the others are updated in place, so
    their ids stay stable.
    """
    if not keys:
        return
    # By location id (a join back to the locations by key let PostgreSQL scan every EVSE).
    evses = [
        (pk, keys[location_id], uid, status)
        for pk, location_id, uid, status in _select(
            f'SELECT "id", "location_id", "uid_key", "status" FROM "{EVSE._meta.db_table}" WHERE "location_id" IN',
            list(keys),
            array="bigint",
        )
    ]
    vanished = [pk for pk, key, uid, status in evses if uid not in listed[key] and status != EVSE.Status.REMOVED]
    for chunk in _chunks(vanished):
        EVSE.objects.filter(pk__in=chunk).update(status=EVSE.Status.REMOVED, last_updated=now)
    wanted = {pk: listed[key][uid] for pk, key, uid, _ in evses if uid in listed[key]}
    connectors = _select(
        f'SELECT "id", "evse_id", "id_key" FROM "{Connector._meta.db_table}" WHERE "evse_id" IN',
        list(wanted),
        array="bigint",
    )
    dropped = [pk for pk, evse_id, id_key in connectors if id_key not in wanted[evse_id]]
    for chunk in _chunks(dropped):
        Connector.objects.filter(pk__in=chunk).delete()


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
    prepared = prepare_locations(partner=partner, locations=locations, encoder=bulk.encoder(), sources=sources, now=now)
    return write_locations(prepared)


# Tariffs -----------------------------------------------------------------------------------------


@transaction.atomic
def store_tariffs(*, partner: Partner, tariffs: Sequence[Any], now: dt.datetime | None = None) -> StoreResult:
    """Upsert Tariffs; every new `last_updated` is kept as a TariffVersion (history for pricing)."""
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    newest = _newest(tariffs)
    held, _ = _held(Tariff, list(newest))
    changed = [(key, tariffs[newest[key]]) for key in _compare({k: tariffs[i].last_updated for k, i in newest.items()}, held, result)]
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
