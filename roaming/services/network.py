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
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import Case, Value, When

from roaming.models import (
    EVSE,
    Connector,
    Location,
    Partner,
    QuarantinedObject,
    RepairedObject,
    SyncRun,
    Tariff,
    TariffVersion,
)
from roaming.models.network import connector_power_w
from roaming.services import bulk

# A payment terminal at the EVSE, as the spec lists its capabilities (Capability: "CHIP_CARD_SUPPORT,
# CONTACTLESS_CARD_SUPPORT, CREDIT_CARD_PAYABLE, DEBIT_CARD_PAYABLE, PED_TERMINAL").
AD_HOC_CAPABILITIES = {"CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL"}

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


def _lon_lat(coordinates: Any) -> tuple[float, float] | None:
    if coordinates is None:
        return None
    return (float(coordinates.longitude), float(coordinates.latitude))


def _as_point(lon_lat: tuple[float, float] | None) -> Point | None:
    return None if lon_lat is None else Point(*lon_lat, srid=4326)


def _dump(obj: Any, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return obj.model_dump(mode="json", exclude_none=True, exclude=exclude)


def _without(document: dict[str, Any], name: str) -> dict[str, Any]:
    copy = dict(document)  # a C-level copy: cheaper than a comprehension that skips the key
    copy.pop(name, None)
    return copy


def _name(details: Any) -> str:
    return details.name if details is not None else ""


@dataclass(frozen=True, slots=True)
class EvseFacts:
    """What the map summary needs to know of one EVSE, whatever it was read from."""

    status: str
    capabilities: Sequence[str]
    last_updated: dt.datetime
    connectors: Sequence[tuple[str, int]]  # (standard, power W)


_TENTH = Decimal("0.1")
_REMOVED, _AVAILABLE = str(EVSE.Status.REMOVED), str(EVSE.Status.AVAILABLE)


def summarize(*, publish: bool, evses: Iterable[EvseFacts]) -> dict[str, Any]:
    """The per-location summary fields, from its EVSEs. One function for every write path."""
    return dict(zip(SUMMARY_FIELDS, _summary_values(publish, evses), strict=True))


def _summary_values(publish: bool, evses: Iterable[EvseFacts]) -> list[Any]:
    """`summarize`'s values in SUMMARY_FIELDS order, in one pass (a sync page runs it 1,000 times)."""
    count = available = max_power_w = 0
    standards: set[str] = set()
    remote_start = ad_hoc = False
    newest: dt.datetime | None = None
    for evse in evses:
        status = evse.status
        if status == _REMOVED:
            continue
        count += 1
        if status == _AVAILABLE:
            available += 1
        for standard, power in evse.connectors:
            standards.add(standard)
            if power > max_power_w:
                max_power_w = power
        capabilities = evse.capabilities
        if capabilities:
            remote_start = remote_start or "REMOTE_START_STOP_CAPABLE" in capabilities
            ad_hoc = ad_hoc or not AD_HOC_CAPABILITIES.isdisjoint(capabilities)
        if newest is None or evse.last_updated > newest:
            newest = evse.last_updated
    return [
        count,
        available,
        (Decimal(max_power_w) / 1000).quantize(_TENTH),
        sorted(standards),
        remote_start,
        ad_hoc,
        newest,
        publish and count > 0,
    ]


def facts_from_wire(evse: Any) -> EvseFacts:
    return EvseFacts(
        status=evse.status,
        capabilities=evse.capabilities or (),
        last_updated=evse.last_updated,
        connectors=[
            (c.standard, connector_power_w(c.power_type, c.max_voltage, c.max_amperage, c.max_electric_power))
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
    refused: dict[str, Partner] = field(default_factory=dict)  # key → the partner that keeps it (`claimed_elsewhere`)


# Row layouts (attnames; `point` as (longitude, latitude)). The wire enums are StrEnums, so a
# member is already the str stored: values are taken as they are.
LOCATION_ROW = [
    "partner_id", "country_code", "party_id", "ocpi_id", "key", "publish", "name", "address", "city",
    "postal_code", "state", "country", "point", "parking_type", "time_zone", "opening_times",
    "charging_when_closed", "facilities", "operator_name", "suboperator_name", "owner_name",
    "publish_allowed_to", "last_updated", "raw", "received_at", "delisted_at", *SUMMARY_FIELDS,
]  # fmt: skip
EVSE_ROW = [
    "location_id", "uid", "uid_key", "evse_id", "status", "capabilities", "floor_level",
    "physical_reference", "parking_restrictions", "point", "last_updated", "raw", "digest",
    "connectors_digest",
]  # fmt: skip
CONNECTOR_ROW = [
    "evse_id", "ocpi_id", "id_key", "standard", "format", "power_type", "max_voltage", "max_amperage",
    "max_electric_power", "tariff_ids", "terms_and_conditions", "last_updated",
]  # fmt: skip


def _location_values(partner: Partner, wire: Any, now: dt.datetime, source: dict[str, Any] | None = None) -> list[Any]:
    """A Location's values in LOCATION_ROW order, summary included.

    `source` is the JSON object as received when it validated as is: it is kept as `raw` (what
    the partner sent, for audit), which also spares re-serialising the model. The location's
    raw leaves its EVSEs out: each EVSE row keeps its own raw (without connectors, which are
    columns), so the object is held once, not twice.
    """
    return [
        partner.pk,
        wire.country_code.upper(),
        wire.party_id.upper(),
        wire.id,
        Location.make_key(wire.country_code, wire.party_id, wire.id),
        wire.publish,
        wire.name or "",
        wire.address,
        wire.city or "",
        wire.postal_code or "",
        wire.state or "",
        wire.country,
        _lon_lat(wire.coordinates),
        wire.parking_type or "",
        wire.time_zone,
        _dump(wire.opening_times) if wire.opening_times is not None else None,
        True if wire.charging_when_closed is None else wire.charging_when_closed,
        list(wire.facilities or ()),
        # No operator named: the party's own name from its credentials; a CPO behind a 2.2.1 hub
        # has none there, and the hub is not its operator, so it stays unknown.
        _name(wire.operator) or partner.business_names.get(f"{wire.country_code}*{wire.party_id}".upper(), ""),
        _name(wire.suboperator),
        _name(wire.owner),
        [_dump(p) for p in wire.publish_allowed_to] if wire.publish_allowed_to else [],
        wire.last_updated,
        _without(source, "evses") if source is not None else _dump(wire, exclude={"evses"}),
        now,
        None,  # delisted_at: sent, so listed
        *_summary_values(wire.publish, [facts_from_wire(e) for e in wire.evses or ()]),
    ]


def _location_columns(partner: Partner, wire: Any, now: dt.datetime, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """`_location_values` by column name."""
    return dict(zip(LOCATION_ROW, _location_values(partner, wire, now, source), strict=True))


def _location_row(partner: Partner, wire: Any, now: dt.datetime) -> Location:
    columns = _location_columns(partner, wire, now)
    return Location(**{**columns, "point": _as_point(columns["point"])})


def evse_digest(document: Any) -> int:
    """The fingerprint of one EVSE as received whole (its JSON, connectors included): equal
    fingerprints, equal rows (see `EVSE.digest`). 64 bits of SHA-1 (a fingerprint, not a
    security measure), salted with `_DIGEST_VERSION`: change it when the mapping from OCPI to
    rows changes, and every EVSE is rewritten once."""
    digest = hashlib.sha1(orjson.dumps(document), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True) ^ _DIGEST_VERSION  # a BigIntegerField


_DIGEST_VERSION = 1


def _evse_values(
    location: Any, wire: Any, source: dict[str, Any] | None = None, digest: int | None = None, connectors_digest: int | None = None
) -> list[Any]:
    """An EVSE's values in EVSE_ROW order; `location` fills location_id (an id, or a key in a batch)."""
    return [
        location,
        wire.uid,
        wire.uid.upper(),
        wire.evse_id or "",
        wire.status,
        list(wire.capabilities or ()),
        wire.floor_level or "",
        wire.physical_reference or "",
        list(wire.parking_restrictions or ()),
        _lon_lat(wire.coordinates),
        wire.last_updated,
        _without(source, "connectors") if source is not None else _dump(wire, exclude={"connectors"}),
        digest,
        connectors_digest,
    ]


def _evse_row(location_id: int, wire: Any) -> EVSE:
    columns = dict(zip(EVSE_ROW, _evse_values(location_id, wire), strict=True))
    return EVSE(**{**columns, "point": _as_point(columns["point"])})


def _connector_values(evse: Any, c: Any) -> list[Any]:
    """A connector's values in CONNECTOR_ROW order; `evse` fills evse_id (an id, or a key in a batch)."""
    return [
        evse,
        c.id,
        c.id.upper(),
        c.standard,
        c.format,
        c.power_type,
        c.max_voltage,
        c.max_amperage,
        c.max_electric_power,
        list(c.tariff_ids or ()),
        c.terms_and_conditions or "",
        c.last_updated,
    ]


def _connector_rows(evse_id: int, connectors: Iterable[Any]) -> list[Connector]:
    return [Connector(**dict(zip(CONNECTOR_ROW, _connector_values(evse_id, c), strict=True))) for c in connectors]


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _select(sql: str, values: Sequence[Any], *, array: str = "text", lock: bool = False) -> list[tuple[Any, ...]]:
    """Run `sql` (a SELECT ending in `IN`) for `values`, in one statement.

    On SQLite the values go in as one JSON array (one statement to prepare, whatever their
    number) and the rows come back packed in one JSON array: sqlite3 releases the GIL on every
    step, and with the fetching thread busy each re-acquisition would wait its turn.
    `lock`: on PostgreSQL the rows are locked for update, in the order of the first column (so
    two such reads lock a shared row in the same order); SQLite has one writer at a time anyway.
    """
    if not values:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # "= ANY(array)" lets the planner use the index; "IN (SELECT unnest(…))" became a
            # hash join over the whole EVSE table.
            locking = " ORDER BY 1 FOR UPDATE" if lock else ""
            cursor.execute(sql.removesuffix(" IN") + f" = ANY(%s::{array}[]){locking}", [list(values)])
            return cursor.fetchall()
        select, _, rest = sql.partition(" FROM ")
        packed = f"SELECT json_group_array(json_array({select.removeprefix('SELECT ')})) FROM {rest} (SELECT value FROM json_each(%s))"
        cursor.execute(packed, [json.dumps(list(values))])
        return [tuple(row) for row in json.loads(cursor.fetchone()[0])]


# Advisory lock namespaces (the first of PostgreSQL's two int4 lock keys) for `lock_parties`.
_PARTY_LOCKS: dict[type[Location] | type[Tariff], int] = {Location: 0x4C4F43, Tariff: 0x544152}


def lock_parties(model: type[Location] | type[Tariff], keys: Iterable[str]) -> None:
    """PostgreSQL: lock, until the transaction ends, the parties (country code and party id) of
    these Locations' or Tariffs' keys, for writing objects of them.

    A row lock cannot cover an object not stored yet: two writers creating the same Location at
    once (a pull's page and the CPO's PUT, a staff fetch and a PUT) each found nothing to compare
    with, and the older version's EVSEs were written over the newer's under the newer Location
    (whose own upsert is guarded by last_updated, its EVSEs' not), or a newer tariff was replaced
    by an older one. Every writer of many objects or of a whole one takes these before any row
    lock, in the order of the lock ids, so no two can wait on each other in a cycle; a party's
    writers then take turns (a page is ~0.1 s). A status PATCH locks its one Location row only.
    SQLite has one writer at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    parties = sorted({f"{country}*{party}" for country, party, _ in map(Location.split_key, keys)})
    if not parties:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, h)) FROM"
            " (SELECT DISTINCT hashtext(p) AS h FROM unnest(%s::text[]) AS p ORDER BY h) AS ordered",
            [_PARTY_LOCKS[model], parties],
        )


@dataclass
class _Held:
    """What we hold of some keys: key → last_updated, row id, and the partner it is held for;
    and the Locations among them that a full pull no longer listed (`apply_full_list`)."""

    versions: dict[str, dt.datetime]
    ids: dict[str, int]
    owners: dict[str, int]
    delisted: set[str] = field(default_factory=set)


def _held(model: type[Location] | type[Tariff], keys: Sequence[str], *, lock: bool = False) -> _Held:
    """`lock`: the rows stay locked until the transaction ends (see `write_locations`)."""
    table = model._meta.db_table
    delisted = '"delisted_at" IS NOT NULL' if model is Location else "FALSE"
    rows = _select(f'SELECT "key", "last_updated", "id", "partner_id", {delisted} FROM "{table}" WHERE "key" IN', keys, lock=lock)
    ids = {key: pk for key, _, pk, _, _ in rows}
    owners = {key: owner for key, _, _, owner, _ in rows}
    versions = {key: last_updated for key, last_updated, _, _, _ in rows}
    if connection.vendor != "postgresql":  # a plain SQLite cursor gives the naive text Django stores
        versions = {key: _stored_datetime(value) for key, value in versions.items()}
    return _Held(versions, ids, owners, {key for key, _, _, _, gone in rows if gone})


def _stored_datetime(value: Any) -> dt.datetime:
    """A DateTime column's SQLite text as an aware datetime: `fromisoformat` when the connection
    stores UTC (~0.5 µs), else Django's own converter (~5 µs; an increment reads ~1,500)."""
    if isinstance(value, str) and connection.timezone is dt.UTC:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return connection.ops.convert_datetimefield_value(value, None, connection)


# Partners that still claim a party keep its objects while they are registered or merely paused.
_CLAIMING = (Partner.Status.CONNECTED, Partner.Status.SUSPENDED, Partner.Status.REGISTERING)


def claimed_elsewhere(partner_id: int, owners: dict[str, int]) -> dict[str, Partner]:
    """Of `owners` (object key → id of the partner it is held for), the keys that `partner_id`
    may not write, with the partner that keeps them.

    Two connections may declare the same party (a CPO directly and through a hub): the object
    stays with the connection that first sent it, and the other's copies are refused. It passes
    to the newcomer once its holder no longer claims it: the holder's credentials are gone
    (UNREGISTERED, or back to PENDING) or its roles no longer list the party. SUSPENDED is a
    pause by staff, not a hand-over. One rule for pulls and pushes alike.
    """
    others = {owner for owner in owners.values() if owner != partner_id}
    if not others:
        return {}
    holders = {holder.pk: holder for holder in Partner.objects.filter(pk__in=others).only("id", "name", "status", "parties")}
    refused = {}
    for key, owner in owners.items():
        holder = holders.get(owner)
        if owner != partner_id and holder is not None and holder.status in _CLAIMING:
            country_code, party_id, _ = Location.split_key(key)
            if holder.may_act_for(country_code, party_id):
                refused[key] = holder
    return refused


def _handed_over(partner_id: int, owners: dict[str, int], refused: dict[str, Partner]) -> list[str]:
    """Keys held for another connection that no longer claims them: `partner_id` takes them over."""
    return [key for key, owner in owners.items() if owner != partner_id and key not in refused]


def _newest(wires: Sequence[Any]) -> dict[str, int]:
    """Key → index of the newest object with that key (a page may repeat an object)."""
    newest: dict[str, int] = {}
    for index, wire in enumerate(wires):
        key = Location.make_key(wire.country_code, wire.party_id, wire.id)
        if key not in newest or wire.last_updated >= wires[newest[key]].last_updated:
            newest[key] = index
    return newest


def _compare(
    versions: dict[str, dt.datetime],
    held: dict[str, dt.datetime],
    result: StoreResult,
    *,
    replace_equal: bool = False,
    handed_over: Iterable[str] = (),
) -> list[str]:
    """The keys newer than what we hold; counts the rest in `result`.

    An older object is acknowledged and ignored; an identical `last_updated` is a no-op, so
    re-running a full pull rewrites nothing, unless `replace_equal` (a pushed PUT whose content
    differs under the same timestamp: the later one wins, as for PATCHes) or the key is
    `handed_over` (held for a connection that let go of its party: the same version, sent by
    its new connection, moves it over).
    """
    handed_over = set(handed_over)
    changed = []
    for key, last_updated in versions.items():
        if key in held and last_updated < held[key]:
            result.older_ignored += 1
        elif key in held and last_updated == held[key] and not replace_equal and key not in handed_over:
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

    partner_id: int  # whose rows these are
    versions: dict[str, dt.datetime]  # key → last_updated
    ids: dict[str, str]  # key → the location id as sent
    listed: dict[str, dict[str, set[str]]]  # key → EVSE uid_key → connector id_keys
    locations: bulk.Batch
    evses: bulk.Batch  # (location key, columns…)
    connectors: bulk.Batch  # (location key, EVSE uid_key, columns…)
    # Per EVSE row: (location key, uid_key, digest, connectors' digest); per connector row: its
    # EVSE's row number.
    evse_digests: list[tuple[str, str, int, int]] = field(default_factory=list)
    connector_evses: list[int] = field(default_factory=list)


# What building rows raises for a value the encoder cannot write (orjson's errors are TypeErrors;
# an integer column's overflow, a ValueError or an OverflowError).
UNWRITABLE = (TypeError, ValueError, OverflowError)


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
    ids: dict[str, str] = {}
    listed: dict[str, dict[str, set[str]]] = {}
    evse_digests: list[tuple[str, str, int, int]] = []
    connector_evses: list[int] = []
    key_at = LOCATION_ROW.index("key")
    for index in _newest(locations).values():
        wire = locations[index]
        source = sources[index] if sources is not None else None
        row = _location_values(partner, wire, now, source)
        key = row[key_at]
        location_rows.append(row)
        versions[key] = wire.last_updated
        ids[key] = wire.id
        evses = listed[key] = {}
        evse_sources = source.get("evses") if source is not None else None
        for position, evse in enumerate(wire.evses or ()):
            evse_source = evse_sources[position] if evse_sources else None
            # What was received, or for a repaired object what it was read as.
            received = evse_source if evse_source is not None else evse.model_dump(mode="json")
            digest, connectors_digest = evse_digest(received), evse_digest(received.get("connectors"))
            evse_row = _evse_values(key, evse, evse_source, digest, connectors_digest)
            uid_key = evse_row[2]
            evse_number = len(evse_rows)
            evse_rows.append(evse_row)
            evse_digests.append((key, uid_key, digest, connectors_digest))
            connector_ids = evses[uid_key] = set()
            for connector in evse.connectors:
                connector_row = _connector_values(uid_key, connector)
                connector_ids.add(connector_row[2])
                connector_rows.append([key, *connector_row])
                connector_evses.append(evse_number)
    return PreparedLocations(
        partner_id=partner.pk,
        versions=versions,
        ids=ids,
        listed=listed,
        locations=encoder.batch(_LOCATION_FIELDS(), location_rows),
        evses=encoder.batch([None, *_EVSE_FIELDS()], evse_rows),
        connectors=encoder.batch([None, None, *_CONNECTOR_FIELDS()], connector_rows),
        evse_digests=evse_digests,
        connector_evses=connector_evses,
    )


# The model fields a batch's columns fill (the first EVSE and connector values are lookup keys).
_LOCATION_FIELDS = functools.cache(lambda: bulk.model_fields(Location, LOCATION_ROW))
_EVSE_FIELDS = functools.cache(lambda: bulk.model_fields(EVSE, EVSE_ROW[1:]))
_CONNECTOR_FIELDS = functools.cache(lambda: bulk.model_fields(Connector, CONNECTOR_ROW[1:]))


# One transaction, no savepoint: a caller's transaction (a sync page, a PUT) holds all or nothing
# anyway, and on SQLite a savepoint made every page it wrote go to a sub-journal too (a page of
# 1,000 locations: ~100 instead of ~70 ms). Nothing catches a failed write and carries on.
@transaction.atomic(savepoint=False)
def write_locations(prepared: PreparedLocations, *, replace_equal: bool = False) -> StoreResult:
    """Write prepared Locations: newer ones replace what we hold, with their EVSEs and connectors
    (and, with `replace_equal`, those of the same `last_updated`: see `_compare`)."""
    result = StoreResult()
    # Locked: a push to one of these Locations committed after this read would otherwise see its
    # EVSE rows overwritten by this older version (the Location's own upsert below is guarded by
    # last_updated, its EVSEs and connectors are not), and the summary would no longer match them.
    # The push's own order is the same: the Location first, then its EVSEs. Those we hold none of
    # yet are covered by their party's lock.
    lock_parties(Location, prepared.versions)
    holding = _held(Location, list(prepared.versions), lock=True)
    held, held_ids = holding.versions, holding.ids
    # A key held for another connection that still claims its party is left alone.
    result.refused = claimed_elsewhere(prepared.partner_id, holding.owners)
    versions = prepared.versions
    if result.refused:
        versions = {key: version for key, version in versions.items() if key not in result.refused}
    handed_over = _handed_over(prepared.partner_id, holding.owners, result.refused)
    # A delisted Location sent again is listed again, even unchanged (`apply_full_list`).
    changed = _compare(versions, held, result, replace_equal=replace_equal, handed_over=[*handed_over, *holding.delisted])
    if not changed:
        return result
    # Rows of keys we hold as they are are left out; when every key changed (a first pull),
    # the filter is left out instead, and the join by key alone drops SQLite's padding rows.
    every_key = len(changed) == len(prepared.versions)
    only_changed = [] if every_key else [json.dumps(changed)]

    replaced = {held_ids[key]: key for key in changed if key in held}  # none in a first pull

    def keys_wanted(batch: bulk.Batch) -> str:
        key = batch.text(0 if batch is not prepared.locations else batch.index("key"))
        return f"{key} IS NOT NULL" if every_key else bulk.in_list(key)

    def not_held(model: type[Connector], batch: bulk.Batch, parent: tuple[str, str], key: str, compared: list[str]) -> str:
        # The EVSE a connector belongs to changed, but the connector itself usually did not:
        # such rows are dropped before the insert.
        return f" AND NOT {bulk.held_as_is(model, batch, parent, key, compared)}" if replaced else ""

    location_table, evse_table = Location._meta.db_table, EVSE._meta.db_table
    with connection.cursor() as cursor:
        batch = prepared.locations
        columns = batch.columns
        for source, params in batch.chunks(reserve=1):
            bulk.execute(
                cursor,
                bulk.insert_into(Location, columns)
                + f"SELECT {batch.cells()} FROM {source} WHERE {keys_wanted(batch)} "
                + f"ORDER BY {batch.order()}"
                + bulk.on_conflict(["key"], [c for c in columns if c != "key"])
                # Belt and braces against a concurrent writer between our read and this write;
                # the same version moves over to a new connection (`_handed_over`).
                + f' WHERE "{location_table}"."last_updated" {"<=" if replace_equal else "<"} excluded."last_updated"'
                + f' OR ("{location_table}"."last_updated" = excluded."last_updated"'
                + f' AND ("{location_table}"."partner_id" <> excluded."partner_id" OR "{location_table}"."delisted_at" IS NOT NULL))',
                params + only_changed,
            )
        held_evses = _held_evses(replaced)
        same, same_connectors = _unchanged(prepared, held_evses)
        settled = same | same_connectors  # EVSEs whose connectors we hold as received
        settled_keys = {prepared.evse_digests[number][:2] for number in settled}
        _retire_unlisted(replaced, held_evses, prepared.listed, versions, settled_keys)
        evses, connectors = _received_again(prepared, same, settled)
        # Every EVSE column derives from raw (the digest from the JSON received), but for a
        # status set by _retire_unlisted.
        evse_compared = ["raw", "status", "last_updated", "digest", "connectors_digest"]
        batch = evses
        columns = batch.columns
        kept, kept_params = batch.kept()
        for source, params in batch.chunks(reserve=1 + len(kept_params)) if batch.rows else ():
            bulk.execute(
                cursor,
                bulk.insert_into(EVSE, ["location_id", *columns])
                + f"SELECT l.id, {batch.cells(1)} "
                + f'FROM {source} JOIN "{location_table}" l ON l."key" = {batch.text(0)} '
                + f"WHERE {keys_wanted(batch)}{kept} ORDER BY {batch.order()}"
                + bulk.on_conflict(["location_id", "uid_key"], [c for c in columns if c != "uid_key"])
                + bulk.any_changed(EVSE, evse_compared),
                params + only_changed + kept_params,
            )
        batch = connectors
        columns = batch.columns
        connector_compared = [c for c in columns if c != "id_key"]
        held_connector = not_held(Connector, batch, ("evse_id", "e.id"), "id_key", connector_compared)
        kept, kept_params = batch.kept()
        for source, params in batch.chunks(reserve=1 + len(kept_params)) if batch.rows else ():
            bulk.execute(
                cursor,
                bulk.insert_into(Connector, ["evse_id", *columns])
                + f"SELECT e.id, {batch.cells(2)} "
                + f'FROM {source} JOIN "{location_table}" l ON l."key" = {batch.text(0)} '
                + f'JOIN "{evse_table}" e ON e."location_id" = l.id AND e."uid_key" = {batch.text(1)} '
                + f"WHERE {keys_wanted(batch)}{kept}{held_connector} ORDER BY {batch.order()}"
                + bulk.on_conflict(["evse_id", "id_key"], connector_compared)
                + bulk.any_changed(Connector, connector_compared),
                params + only_changed + kept_params,
            )
    result.stored = len(changed)
    return result


_HeldEvse = tuple[int, str, str, str, int | None, int | None]  # id, location key, uid_key, status, digests


def _held_evses(keys: dict[int, str]) -> list[_HeldEvse]:
    """The EVSEs we hold of the locations `keys` (location id → key): (id, location key,
    uid_key, status, digest, connectors' digest). By location id: a join back to the locations
    by key let PostgreSQL scan every EVSE."""
    if not keys:
        return []
    rows = _select(
        f'SELECT "id", "location_id", "uid_key", "status", "digest", "connectors_digest" FROM "{EVSE._meta.db_table}"'
        ' WHERE "location_id" IN',
        list(keys),
        array="bigint",
    )
    return [(pk, keys[location], uid, status, digest, of_connectors) for pk, location, uid, status, digest, of_connectors in rows]


def _unchanged(prepared: PreparedLocations, held_evses: list[_HeldEvse]) -> tuple[set[int], set[int]]:
    """Row numbers of the batch's EVSEs that we hold exactly as received (same digest: see
    `evse_digest`), and of the others whose connectors alone we hold as received.

    An increment re-sends a whole location for one EVSE's status change: its other EVSEs and
    their connectors then cost nothing in the database, nor do the changed EVSE's connectors. A
    row changed since the pull that wrote it has no digest (every other write path clears it),
    so it is always rewritten.
    """
    held = {(key, uid): (digest, of_connectors) for _, key, uid, _, digest, of_connectors in held_evses}
    same: set[int] = set()
    same_connectors: set[int] = set()
    if not held:
        return same, same_connectors
    for number, (key, uid, digest, of_connectors) in enumerate(prepared.evse_digests):
        was = held.get((key, uid))
        if was is None:
            continue
        if was[0] is not None and was[0] == digest:
            same.add(number)
        elif was[1] is not None and was[1] == of_connectors:
            same_connectors.add(number)
    return same, same_connectors


def _received_again(prepared: PreparedLocations, same: set[int], settled: set[int]) -> tuple[bulk.Batch, bulk.Batch]:
    """The EVSE and connector batches without the rows we hold as received (see `_unchanged`):
    the EVSEs numbered `same`, and the connectors of those numbered `settled`."""
    evses, connectors = prepared.evses, prepared.connectors
    if same:
        evses = evses.only([number for number in range(evses.rows) if number not in same])
    if settled:
        connectors = connectors.only([number for number, evse in enumerate(prepared.connector_evses) if evse not in settled])
    return evses, connectors


def _retire_unlisted(
    keys: dict[int, str],
    evses: list[_HeldEvse],
    listed: dict[str, dict[str, set[str]]],
    versions: dict[str, dt.datetime],
    settled: AbstractSet[tuple[str, str]],
) -> None:
    """For locations we held before (`keys`, with `evses` as `_held_evses` read them): what the
    new version no longer lists.

    OCPI never deletes: an EVSE left out is marked REMOVED and kept for history (sessions point
    at it), as of the Location version that left it out (`versions`: key → last_updated). Not
    our clock: a time ahead of the CPO's would make us ignore its next update of that EVSE as
    older than what we hold. A connector left out of a listed EVSE is deleted; the others are
    updated in place, so their ids stay stable. EVSEs whose connectors we hold as received
    (`settled`: location key, uid_key) have none to delete.
    """
    if not keys:
        return
    vanished: dict[dt.datetime, list[int]] = {}
    for pk, key, uid, status, _, _ in evses:
        if uid not in listed[key] and status != EVSE.Status.REMOVED:
            vanished.setdefault(versions[key], []).append(pk)
    for version, pks in vanished.items():
        for chunk in _chunks(pks):
            # Its connectors stay as they are, and so does their digest.
            EVSE.objects.filter(pk__in=chunk).update(status=EVSE.Status.REMOVED, last_updated=version, digest=None)
    wanted = {pk: listed[key][uid] for pk, key, uid, _, _, _ in evses if uid in listed[key] and (key, uid) not in settled}
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
    replace_equal: bool = False,
) -> StoreResult:
    """Upsert whole Locations (a sync page, or one PUT). The caller has checked party ownership.

    `sources`, when given, are the JSON objects as received (None where an object was
    repaired): they are kept as `raw`. `replace_equal`: see `_compare`.
    """
    prepared = prepare_locations(partner=partner, locations=locations, encoder=bulk.encoder(), sources=sources, now=now)
    return write_locations(prepared, replace_equal=replace_equal)


def apply_full_list(
    *, model: type[Location] | type[Tariff], partner: Partner, listed: AbstractSet[str], now: dt.datetime, since: dt.datetime | None = None
) -> tuple[int, str]:
    """After a whole, unfiltered pull of a partner's Locations or Tariffs: "the new truth"
    (checklist §2.3; §5.1 "replace your known list with the received list").

    An object we hold for it that the list no longer has is no longer valid. It is kept (OCPI
    never deletes; sessions point at it): a Location is hidden from drivers (`delisted_at`), a
    Tariff stops applying (`deleted_at`, as a DELETE would do; its history stays). One the list has
    again is valid again. `listed`: every key the pull received, objects we could not read
    included (listed, only broken). A list that lacks more than `OCPI_DELIST_MAX_SHARE` of what we
    hold (and more than a handful) looks cut short rather than true: nothing changes, and the
    returned note says so for staff; 0 turns the whole rule off. `since`: when the list began; what
    the partner pushed to us after that (a site opened during the pull) is newer than the list and
    stays. Returns (objects no longer valid, note).
    """
    if settings.OCPI_DELIST_MAX_SHARE <= 0:  # turned off: what a list lacks stays as it was
        return 0, ""
    if model is Location:
        flag, what = "delisted_at", "locations"
        # Shown again by the summary's own rule (`_summary_values`): published, with an EVSE not REMOVED.
        shown = {"is_visible": Case(When(publish=True, evse_count__gt=0, then=Value(True)), default=Value(False))}
        hidden: dict[str, Any] = {"is_visible": False}
    else:
        flag, what, shown, hidden = "deleted_at", "tariffs", {}, {}
    objects = model.objects.filter(partner=partner)  # type: ignore[attr-defined]
    set_aside = dict(objects.filter(**{f"{flag}__isnull": False}).values_list("key", "pk"))
    back = [key for key in set_aside if key in listed]
    for chunk in _chunks(back):
        if model is Tariff:
            Tariff.restore([set_aside[key] for key in chunk], now)
        objects.filter(key__in=chunk).update(**{flag: None}, **shown)
    held = dict(objects.filter(**{f"{flag}__isnull": True}).values_list("key", "pk"))
    missing = [key for key in held if key not in listed]
    if missing and since is not None:
        # Locked until the caller's transaction ends (in key order, as a page locks them): a PUT
        # that comes now waits, and then lists it again.
        older = objects.filter(received_at__lt=since).order_by("key").select_for_update()
        missing = [key for chunk in _chunks(sorted(missing)) for key in older.filter(key__in=chunk).values_list("key", flat=True)]
    if not missing:
        return 0, ""
    if len(missing) > max(DELIST_ALWAYS_UP_TO, settings.OCPI_DELIST_MAX_SHARE * len(held)):
        return 0, (
            f"The full list lacked {len(missing):,} of the {len(held):,} {what} we hold for this partner; that looks like a"
            " list cut short rather than objects gone, so none was set aside. A later full pull that lacks fewer will."
        )
    for chunk in _chunks(missing):
        if model is Tariff:
            Tariff.withdraw([held[key] for key in chunk], now)
        objects.filter(key__in=chunk).update(**{flag: now}, **hidden)
    return len(missing), ""


DELIST_ALWAYS_UP_TO = 10  # a small network losing a few sites is not a cut-short list


# Tariffs -----------------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # as write_locations
def store_tariffs(
    *,
    partner: Partner,
    tariffs: Sequence[Any],
    now: dt.datetime | None = None,
    replace_equal: bool = False,
    received: Sequence[Any] | None = None,
) -> StoreResult:
    """Upsert Tariffs; every new `last_updated` is kept as a TariffVersion (history for pricing).

    `replace_equal` (see `_compare`) also replaces the version of that `last_updated`: the tariff
    as of that moment is what the CPO last said it was. `received`: each tariff's JSON exactly as
    the CPO sent it, kept with its version for audit (`raw` is the tariff as read).
    """
    now = now or dt.datetime.now(dt.UTC)
    result = StoreResult()
    newest = _newest(tariffs)
    # Locked, as in write_locations: a PUT committed after this read would otherwise be
    # overwritten by an older version from a pull (the upsert below does not compare versions).
    lock_parties(Tariff, newest)
    holding = _held(Tariff, list(newest), lock=True)
    result.refused = claimed_elsewhere(partner.pk, holding.owners)
    versions = {key: tariffs[index].last_updated for key, index in newest.items() if key not in result.refused}
    handed_over = _handed_over(partner.pk, holding.owners, result.refused)
    keys = _compare(versions, holding.versions, result, replace_equal=replace_equal, handed_over=handed_over)
    # A version older than the one we hold (sent late, out of order) does not replace it, but it
    # was in force before it: a session that started then is priced with it, so history keeps it.
    sent = received if received is not None else [None] * len(tariffs)
    late = [
        TariffVersion(tariff_id=holding.ids[key], last_updated=version, raw=_dump(tariffs[newest[key]]), received=sent[newest[key]])
        for key, version in versions.items()
        if key in holding.versions and version < holding.versions[key] and holding.owners[key] == partner.pk
    ]
    if late:
        TariffVersion.objects.bulk_create(late, ignore_conflicts=True)
    changed = [(key, tariffs[newest[key]]) for key in keys]
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
    Tariff.restore(list(ids.values()), now)  # a withdrawn one written again applies from now on
    TariffVersion.objects.bulk_create(
        [
            TariffVersion(tariff_id=ids[key], last_updated=wire.last_updated, raw=_dump(wire), received=sent[newest[key]])
            for key, wire in changed
        ],
        **(
            {"update_conflicts": True, "unique_fields": ["tariff", "last_updated"], "update_fields": ["raw", "received"]}
            if replace_equal
            else {"ignore_conflicts": True}
        ),
    )
    result.stored = len(changed)
    return result


def delete_tariff(*, tariff: Tariff, now: dt.datetime | None = None) -> None:
    """A CPO DELETE: the tariff stops applying, and the history says from when; its versions stay
    for sessions that used it."""
    now = now or dt.datetime.now(dt.UTC)
    Tariff.objects.filter(pk=tariff.pk).update(deleted_at=now)
    Tariff.withdraw([tariff.pk], now)


# Quarantine --------------------------------------------------------------------------------------


def record_repairs(
    *, partner: Partner, module: str, repairs: Iterable[tuple[str, list[str], Any]], sync_run: SyncRun | None = None
) -> int:
    """Keep, for staff, what was repaired in objects we stored: (object id or "" for the page,
    the repairs, the object as sent). One record per object of a party: the latest replaces the one before."""
    now = dt.datetime.now(dt.UTC)
    rows = (
        RepairedObject(
            partner=partner, sync_run=sync_run, module=module, party=party_text(raw) if object_id else "",
            object_id=(object_id or "")[:64], repairs=found, raw=raw, received_at=now,
        )
        for object_id, found, raw in repairs
    )  # fmt: skip
    latest = {(row.party, row.object_id): row for row in rows}
    RepairedObject.objects.bulk_create(
        list(latest.values()),
        batch_size=500,
        update_conflicts=True,
        unique_fields=["partner", "module", "party", "object_id"],
        update_fields=["sync_run", "repairs", "raw", "received_at"],
    )
    return len(latest)


def quarantine(*, partner: Partner, module: str, rejects: Iterable[tuple[str, str, Any]], sync_run: SyncRun | None = None) -> int:
    """Keep what we could not understand, with the reason, for staff. `rejects`: (object id, reason, raw).

    An object refused again (a nightly full pull re-sends it) replaces its earlier record: staff
    see each object once, with its latest reason, and the table does not grow with every pull.
    An id is an object's only within its party (country code and party id, as its raw says, when
    it does): a hub's two CPOs may both send a LOC1. Objects without an id cannot be told apart
    and are all kept."""
    rows = [
        QuarantinedObject(partner=partner, sync_run=sync_run, module=module, object_id=(object_id or "")[:64], reason=reason, raw=raw)
        for object_id, reason, raw in rejects
    ]
    again = {(row.object_id, _party_of(row.raw)) for row in rows if row.object_id}
    earlier = []
    for chunk in _chunks(sorted({object_id for object_id, _ in again})):
        held = QuarantinedObject.objects.filter(partner=partner, module=module, object_id__in=chunk).values_list("pk", "object_id", "raw")
        earlier += [pk for pk, object_id, raw in held if (object_id, _party_of(raw)) in again]
    for chunk in _chunks(earlier):
        QuarantinedObject.objects.filter(pk__in=chunk).delete()
    QuarantinedObject.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def party_text(raw: Any) -> str:
    """"DE*ABC" for an object that says it is DE*ABC's ("" where it says nothing readable)."""
    country, party = _party_of(raw)
    return f"{country}*{party}"[:8] if country or party else ""


def _party_of(raw: Any) -> tuple[str, str]:
    """The party a refused object says it belongs to, upper-cased ("" where it says none readably)."""
    if not isinstance(raw, dict):
        return "", ""
    country, party = raw.get("country_code"), raw.get("party_id")
    return (country.strip().upper() if isinstance(country, str) else "", party.strip().upper() if isinstance(party, str) else "")
