"""Objects partners push to us (OCPI Receiver interfaces, checklist §4.1 and §5.1).

Locations arrive whole (PUT, handed to `store_locations`, the same code as a pull) or in parts:
an EVSE, a connector, or a PATCH of any of the three. Tariffs arrive whole (PUT, via
`store_tariffs`, which keeps every version) or are DELETEd (soft: history stays).

Rules every write here keeps:
- The view has checked that the partner may act for the URL's country_code/party_id. We also
  refuse an object whose key is held for *another* partner (`NotOwned`): two connections (a CPO
  directly and through a hub) may declare the same party, and one must not overwrite the other.
  The object passes to the newcomer once its holder no longer claims the party
  (`network.claimed_elsewhere`, the rule the pull applies too).
- One transaction per push. Rows are locked parent first (the Location, then its EVSEs), the
  order in which `store_locations` upserts, so two writers of one site queue instead of deadlocking.
- An object older than the one we hold is acknowledged and ignored (`Outcome.IGNORED_OLDER`).
  An equal `last_updated` is applied again: CPOs send whole-second timestamps, so two status
  changes within one second carry the same value and the later one must win.
- A child's write moves its parents' `last_updated` forward to the child's (spec: "the eMSP
  should also update the last_updated of the parent objects"), never backwards, and recomputes
  the Location's map summary with `summarize`, like every other write path.
- `raw` stays the OCPI JSON of what we hold, each object at its own level: a Location's raw has
  its own fields (no EVSEs), an EVSE's raw its patched fields (no connectors, which are columns);
  `pushed_location` assembles the whole site for a GET.

PATCH semantics: the fields sent replace ours; an explicit `null` clears an optional field.
A Location PATCH with `evses` upserts those EVSEs by uid (each a full EVSE, replacing its
connectors) and leaves the EVSEs it does not list alone: a PATCH carries only what changed, and
OCPI removes an EVSE by status REMOVED, not by omission (omission removes only in a full PUT).
An EVSE PATCH with `connectors` replaces the EVSE's connector list.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from roaming.models import EVSE, Connector, Location, Partner, Tariff
from roaming.models.columns import Columns
from roaming.ocpi.v221 import locations as wire
from roaming.ocpi.v221 import tariffs as wire_tariffs
from roaming.ocpi.v221.common import format_datetime
from roaming.services.network import (
    LOCATION_FIELDS,
    SUMMARY_FIELDS,
    _connector_rows,
    _evse_row,
    _location_row,
    claimed_elsewhere,
    delete_tariff,
    facts_from_row,
    lock_parties,
    store_locations,
    store_tariffs,
    summarize,
)


class Outcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    IGNORED_OLDER = "ignored_older"


class PushError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLocation(PushError):
    """No Location under that key (OCPI 2003)."""


class UnknownObject(PushError):
    """No such EVSE, connector or tariff."""


class NotOwned(PushError):
    """The key is held for another partner's connection."""


def _check_owner(partner: Partner, owners: dict[str, int], what: str) -> None:
    """Refuse an object held for another connection that still claims its party (`claimed_elsewhere`).

    The message does not name that connection: partners do not learn of each other.
    """
    if claimed_elsewhere(partner.pk, owners):
        raise NotOwned(f"{what} is held for another OCPI connection.")


# Loading a site ----------------------------------------------------------------------------------


@dataclass
class _Site:
    """A Location with its EVSEs and connectors, as stored, in the order they were stored."""

    location: Location
    evses: dict[str, EVSE] = field(default_factory=dict)  # uid_key → row
    connectors: dict[int, list[Connector]] = field(default_factory=dict)  # EVSE pk → rows

    def evse(self, uid: str) -> EVSE | None:
        return self.evses.get(uid.strip().upper())

    def connector(self, evse: EVSE, connector_id: str) -> Connector | None:
        id_key = connector_id.strip().upper()
        return next((c for c in self.connectors.get(evse.pk, []) if c.id_key == id_key), None)

    def require_evse(self, uid: str) -> EVSE:
        evse = self.evse(uid)
        if evse is None:
            raise UnknownObject(f"Unknown EVSE {uid!r} at location {self.location.raw.get('id', '')!r}.")
        return evse

    def require_connector(self, evse: EVSE, connector_id: str) -> Connector:
        connector = self.connector(evse, connector_id)
        if connector is None:
            raise UnknownObject(f"Unknown connector {connector_id!r} of EVSE {evse.uid!r}.")
        return connector


# What the push services and GET use of each row (writes build fresh rows with network's functions).
_LOCATION = Columns(Location, "l", ["id", "partner", "publish", "last_updated", "raw", "delisted_at"])
_EVSE = Columns(
    EVSE, "e", ["id", "location", "uid", "uid_key", "status", "capabilities", "last_updated", "raw"]
)
_CONNECTOR = Columns(Connector, "c", [f.name for f in Connector._meta.concrete_fields])


def _site(*, partner: Partner, country_code: str, party_id: str, location_id: str, lock: bool) -> _Site:
    """Two statements whatever the size of the site. With `lock`, the caller must be in a transaction.

    With `lock`, the Location row and all its EVSE rows are locked (not just the EVSE written:
    the summary is computed from all of them, so none may change between reading and writing).
    """
    for_update = lock and connection.features.has_select_for_update  # SQLite locks the whole file
    key = Location.make_key(country_code, party_id, location_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_LOCATION.sql} FROM {Location._meta.db_table} l WHERE l.key = %s"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            [key],
        )
        found = cursor.fetchone()
        if found is None:
            raise UnknownLocation(f"Unknown location {location_id!r} of {country_code}*{party_id}.")
        location = _LOCATION.build(found)
        if location.partner_id != partner.pk:
            _check_owner(partner, {key: location.partner_id}, f"Location {location_id!r} of {country_code}*{party_id}")
            location.partner_id = partner.pk  # taken over: the holder no longer claims the party
        # The Location row is locked first, then its EVSEs: the order store_locations writes in.
        # Connectors come in the same statement (LEFT JOIN: an EVSE row without any stays visible).
        cursor.execute(
            f"SELECT {_EVSE.sql}, {_CONNECTOR.sql} FROM {EVSE._meta.db_table} e"  # noqa: S608
            f" LEFT JOIN {Connector._meta.db_table} c ON c.evse_id = e.id"
            " WHERE e.location_id = %s ORDER BY e.id, c.id" + (" FOR UPDATE OF e" if for_update else ""),
            [location.pk],
        )
        rows = cursor.fetchall()
    site = _Site(location=location)
    split = len(_EVSE)
    for row in rows:
        evse_pk = row[0]  # "id" is the first concrete field of both models, so each part starts with it
        if evse_pk not in site.connectors:
            evse = _EVSE.build(row[:split])
            site.evses[evse.uid_key] = evse
            site.connectors[evse_pk] = []
        if row[split] is not None:
            site.connectors[evse_pk].append(_CONNECTOR.build(row[split:]))
    return site


# OCPI JSON of what we hold -----------------------------------------------------------------------


def _connector_document(connector: Connector) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": connector.ocpi_id,
        "standard": connector.standard,
        "format": connector.format,
        "power_type": connector.power_type,
    }
    optional = {
        "max_voltage": connector.max_voltage,
        "max_amperage": connector.max_amperage,
        "max_electric_power": connector.max_electric_power,
        "tariff_ids": list(connector.tariff_ids) or None,
        "terms_and_conditions": connector.terms_and_conditions or None,
    }
    document.update((name, value) for name, value in optional.items() if value is not None)
    document["last_updated"] = format_datetime(connector.last_updated)
    return document


def _evse_fields(evse: EVSE) -> dict[str, Any]:
    """The EVSE's own OCPI fields as we hold them. The columns win over raw: store_locations
    marks vanished EVSEs REMOVED with a bulk UPDATE of the columns only."""
    document = dict(evse.raw)
    document["status"] = evse.status
    document["last_updated"] = format_datetime(evse.last_updated)
    return document


def _evse_document(evse: EVSE, connectors: Sequence[Connector]) -> dict[str, Any]:
    document = _evse_fields(evse)
    document["connectors"] = [_connector_document(c) for c in connectors]
    return document


def _location_document(site: _Site) -> dict[str, Any]:
    document = {name: value for name, value in site.location.raw.items() if name != "evses"}
    document["last_updated"] = format_datetime(site.location.last_updated)
    evses = [_evse_document(evse, site.connectors.get(evse.pk, [])) for evse in site.evses.values()]
    if evses:
        document["evses"] = evses
    return document


# Writing a site ----------------------------------------------------------------------------------


def _merged(stored: Mapping[str, Any], patch: BaseModel, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The stored object with the PATCH's fields laid over it; an explicit null clears a field."""
    merged = dict(stored)
    for name, value in patch.model_dump(mode="json", exclude_unset=True).items():
        if name in skip:
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _write_evse(
    site: _Site,
    evse: Any,
    held: EVSE | None,
    *,
    connectors: Sequence[Any] | None,
    last_updated: dt.datetime | None = None,
    point_unchanged: bool = False,
) -> None:
    """Upsert one EVSE row from a full EVSE (`connectors` None: keep the stored connectors).

    `last_updated` overrides the object's: a PATCH is merged through OCPI JSON, which writes
    DateTimes in whole seconds, and the column keeps the sender's precision so that two changes
    within one second stay ordered.
    """
    row = _evse_row(site.location.pk, evse)
    if last_updated is not None:
        row.last_updated = last_updated
    if held is None:
        row.save(force_insert=True)
    else:
        row.pk = held.pk
        if point_unchanged:
            _update(row, _EVSE_COLUMNS)  # the hot path (status PATCHes): one plain UPDATE
        else:
            row.save(force_update=True)
    site.evses[row.uid_key] = row
    site.connectors.setdefault(row.pk, [])
    if connectors is not None:
        if held is not None:
            Connector.objects.filter(evse_id=row.pk).delete()
        rows = _connector_rows(row.pk, connectors)
        Connector.objects.bulk_create(rows)
        site.connectors[row.pk] = rows


def _save_site(site: _Site, last_updated: dt.datetime, *, location_fields: Sequence[str] = ()) -> None:
    """Bump the Location's last_updated, recompute its summary, and save it (one UPDATE).

    The location's `raw` holds its own fields only (each EVSE keeps its own), so an EVSE change
    does not rewrite it; `_location_document` puts the whole object together.
    """
    location = site.location
    location.last_updated = max(location.last_updated, last_updated)
    facts = [facts_from_row(evse, site.connectors.get(evse.pk, [])) for evse in site.evses.values()]
    for name, value in summarize(publish=location.publish, evses=facts).items():
        setattr(location, name, value)
    # Delisted by the CPO's last full list: a change pushed to part of it does not list it again
    # (a PUT of the whole Location, or the next pull, does).
    location.is_visible = location.is_visible and location.delisted_at is None
    # "partner": `_site` hands over a location whose holder no longer claims its party.
    if location_fields:  # a Location PATCH: its point may move
        location.save(update_fields=list(dict.fromkeys([*location_fields, "partner", "last_updated", "received_at", *SUMMARY_FIELDS])))
    else:
        location.received_at = timezone.now()
        _update(location, ["partner", "last_updated", "received_at", *SUMMARY_FIELDS])


# Every EVSE column but the id, the location and the point (which needs the backend's geometry
# placeholder): what a PATCH that sends no coordinates can change.
_EVSE_COLUMNS = [f.name for f in EVSE._meta.concrete_fields if f.name not in ("id", "location", "point")]


_UPDATE_SQL: dict[tuple[type[Model], tuple[str, ...]], str] = {}


def _update_sql(model: type[Model], names: tuple[str, ...]) -> str:
    sql = _UPDATE_SQL.get((model, names))
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in names)  # type: ignore[union-attr]
        sql = f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote(model._meta.pk.column)} = %s"  # type: ignore[union-attr]  # noqa: S608
        _UPDATE_SQL[(model, names)] = sql
    return sql


def _update(instance: Model, names: Sequence[str]) -> None:
    """`instance.save(update_fields=names)` without the ORM's per-call query compilation (a
    quarter of a status PATCH's CPU): the SQL is built once per model and column set, and the
    values are prepared by each field as the ORM would. No signals, no auto_now: callers set
    every value themselves."""
    fields = [instance._meta.get_field(name) for name in names]
    params = [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(instance), tuple(names)), [*params, instance.pk])


def _bump_evse(evse: EVSE, last_updated: dt.datetime) -> None:
    if last_updated > evse.last_updated:
        evse.last_updated = last_updated
        evse.raw = {**evse.raw, "last_updated": format_datetime(last_updated)}
        evse.save(update_fields=["last_updated", "raw"])


# Locations: services -----------------------------------------------------------------------------


def put_location(*, partner: Partner, location: wire.Location) -> Outcome:
    """A full Location (with all its EVSEs); EVSEs we hold that it leaves out become REMOVED."""
    key = Location.make_key(location.country_code, location.party_id, location.id)
    with transaction.atomic():
        lock_parties(Location, [key])  # before the row lock, as every writer of a whole Location
        held = Location.objects.select_for_update().filter(key=key).only("pk", "partner_id", "last_updated").first()
        if held is not None and held.partner_id != partner.pk:
            _check_owner(
                partner, {key: held.partner_id}, f"Location {location.id!r} of {location.country_code}*{location.party_id}"
            )
        # The same last_updated with other content: the later PUT wins, as for PATCHes.
        replace_equal = (
            held is not None
            and held.last_updated == location.last_updated
            and _as_held(partner, location) != location
        )
        result = store_locations(partner=partner, locations=[location], replace_equal=replace_equal)
    if result.older_ignored:
        return Outcome.IGNORED_OLDER
    if result.unchanged:
        return Outcome.UNCHANGED
    return Outcome.UPDATED if held is not None else Outcome.CREATED


def _as_held(partner: Partner, location: wire.Location) -> wire.Location | None:
    """The location of the same key as we hold it, read back as a wire object (to compare)."""
    try:
        document = pushed_location(
            partner=partner, country_code=location.country_code, party_id=location.party_id, location_id=location.id
        )
        return wire.Location.model_validate(document)
    except (PushError, ValidationError):
        return None


def put_evse(
    *, partner: Partner, country_code: str, party_id: str, location_id: str, evse: wire.Evse
) -> Outcome:
    """A full EVSE (with its connectors) under a Location we hold."""
    with transaction.atomic():
        site = _site(
            partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=True
        )
        held = site.evse(evse.uid)
        if held is not None and evse.last_updated < held.last_updated:
            return Outcome.IGNORED_OLDER
        _write_evse(site, evse, held, connectors=evse.connectors)
        _save_site(site, evse.last_updated)
    return Outcome.CREATED if held is None else Outcome.UPDATED


def put_connector(
    *,
    partner: Partner,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector: wire.Connector,
) -> Outcome:
    """A full Connector under an EVSE we hold (a connector cannot create its EVSE)."""
    with transaction.atomic():
        site = _site(
            partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=True
        )
        evse = site.require_evse(evse_uid)
        held = site.connector(evse, connector.id)
        if held is not None and connector.last_updated < held.last_updated:
            return Outcome.IGNORED_OLDER
        _write_connector(site, evse, connector, held)
        _bump_evse(evse, connector.last_updated)
        _save_site(site, connector.last_updated)
    return Outcome.CREATED if held is None else Outcome.UPDATED


def _write_connector(
    site: _Site,
    evse: EVSE,
    connector: Any,
    held: Connector | None,
    *,
    last_updated: dt.datetime | None = None,
) -> None:
    (row,) = _connector_rows(evse.pk, [connector])
    if last_updated is not None:
        row.last_updated = last_updated  # see _write_evse
    connectors = site.connectors[evse.pk]
    if held is None:
        row.save(force_insert=True)
        connectors.append(row)
    else:
        row.pk = held.pk
        row.save(force_update=True)
        connectors[connectors.index(held)] = row


def patch_location(
    *, partner: Partner, country_code: str, party_id: str, location_id: str, patch: wire.LocationPatch
) -> Outcome:
    with transaction.atomic():
        site = _site(
            partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=True
        )
        if patch.last_updated < site.location.last_updated:
            return Outcome.IGNORED_OLDER
        stored = {name: value for name, value in site.location.raw.items() if name != "evses"}
        # Re-read the merged object through the wire model and build the row with the same
        # function as every other write path: one mapping from OCPI fields to columns.
        merged = wire.LocationPatch.model_validate(_merged(stored, patch, skip=("evses",)))
        row = _location_row(partner, merged, dt.datetime.now(dt.UTC))
        row.last_updated = patch.last_updated  # see _write_evse
        for name in LOCATION_FIELDS:
            setattr(site.location, name, getattr(row, name))
        newest = patch.last_updated
        for evse in patch.evses or []:
            held = site.evse(evse.uid)
            if held is None or evse.last_updated >= held.last_updated:
                _write_evse(site, evse, held, connectors=evse.connectors)
                newest = max(newest, evse.last_updated)
        _save_site(site, newest, location_fields=LOCATION_FIELDS)
    return Outcome.UPDATED


def patch_evse(
    *,
    partner: Partner,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    patch: wire.EvsePatch,
) -> Outcome:
    """The hot path (status changes): on PostgreSQL one statement (`_status_sql`), otherwise four
    inside the transaction (two SELECTs, two UPDATEs)."""
    if (
        connection.vendor == "postgresql"
        and patch.model_fields_set <= _STATUS_ONLY
        and patch.status is not None
        and patch.status != EVSE.Status.REMOVED
        and _status_in_one_statement(partner, Location.make_key(country_code, party_id, location_id), evse_uid, patch)
    ):
        return Outcome.UPDATED
    with transaction.atomic():
        site = _site(
            partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=True
        )
        held = site.require_evse(evse_uid)
        if patch.last_updated < held.last_updated:
            return Outcome.IGNORED_OLDER
        if patch.model_fields_set <= _STATUS_ONLY and patch.status is not None:
            _write_status(held, patch.status, patch.last_updated)
        else:
            # EvsePatch has every field of an EVSE; laid over what we hold (as a CPO reads it back)
            # it is the whole EVSE but for its connectors, which is all the EVSE row needs.
            merged = wire.EvsePatch.model_validate(_merged(_evse_fields(held), patch, skip=("connectors",)))
            connectors = patch.connectors if "connectors" in patch.model_fields_set else None
            _write_evse(
                site,
                merged,
                held,
                connectors=connectors,
                last_updated=patch.last_updated,
                point_unchanged="coordinates" not in patch.model_fields_set,
            )
        _save_site(site, patch.last_updated)
    return Outcome.UPDATED


# A PATCH of these alone (the status changes a CPO sends all day) writes them into the row as it is.
_STATUS_ONLY = frozenset({"status", "last_updated"})
_STATUS_COLUMNS = ("status", "last_updated", "raw", "digest", "connectors_digest")


@functools.cache
def _status_sql() -> str:
    location, evse = Location._meta.db_table, EVSE._meta.db_table
    removed, available = str(EVSE.Status.REMOVED), str(EVSE.Status.AVAILABLE)
    return f"""
        WITH site AS (
            SELECT id, available_evse_count, status_updated_at, last_updated FROM {location}
            WHERE key = %(key)s AND partner_id = %(partner)s FOR UPDATE
        ), held AS (
            SELECT e.id, e.status FROM {evse} e JOIN site ON e.location_id = site.id
            WHERE e.uid_key = %(uid)s AND e.last_updated <= %(at)s::timestamptz AND e.status <> '{removed}' FOR UPDATE OF e
        ), written AS (
            UPDATE {evse} e SET status = %(status)s::text, last_updated = %(at)s::timestamptz,
                raw = jsonb_set(jsonb_set(e.raw, '{{status}}', to_jsonb(%(status)s::text)), '{{last_updated}}', to_jsonb(%(at_text)s::text)),
                digest = NULL, connectors_digest = NULL
            FROM held WHERE e.id = held.id
            RETURNING e.location_id, held.status AS was
        )
        UPDATE {location} l SET
            available_evse_count = site.available_evse_count
                + (CASE WHEN %(status)s::text = '{available}' THEN 1 ELSE 0 END) - (CASE WHEN written.was = '{available}' THEN 1 ELSE 0 END),
            status_updated_at = GREATEST(site.status_updated_at, %(at)s::timestamptz),
            last_updated = GREATEST(site.last_updated, %(at)s::timestamptz),
            received_at = %(now)s::timestamptz
        FROM written JOIN site ON site.id = written.location_id WHERE l.id = written.location_id
        RETURNING l.id
    """  # noqa: S608 - fixed table names, values bound


def _status_in_one_statement(partner: Partner, key: str, evse_uid: str, patch: wire.EvsePatch) -> bool:
    """A status change between live statuses, in one round trip (PostgreSQL). The location row is
    locked first, then the EVSE's, the order every writer uses. Only the summary fields a status
    can move change, by the EVSE's old and new status: the stored summary is right on every write
    path (a test recomputes it after random changes). False, having written nothing, for anything
    else (unknown location or EVSE, held for another partner, older than held, REMOVED): the
    general path then answers it.

    The summary is computed from `site`'s values, not the row the final UPDATE reads: when this
    statement waited for another writer's lock on the Location, that row is still the version of
    the statement's snapshot. PostgreSQL re-reads the newest version before writing, but it checks
    the CHECK constraints against the values computed from the stale one first; an EVSE that had
    just become AVAILABLE then took an available count of 0 to -1, and the PATCH failed. `site`,
    read under the lock, is the version written.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _status_sql(),
            {
                "key": key, "partner": partner.pk, "uid": evse_uid.strip().upper(), "status": str(patch.status),
                "at": patch.last_updated, "at_text": format_datetime(patch.last_updated), "now": timezone.now(),
            },
        )
        return cursor.fetchone() is not None


def _write_status(held: EVSE, status: str, last_updated: dt.datetime) -> None:
    """A new status and nothing else: the row's status, last_updated and raw, in one UPDATE.

    Nothing else of the EVSE changed, so it is not merged and validated whole again (the other
    path's third of a PATCH's CPU), and `raw` keeps the CPO's object with the two fields replaced.
    The pull's digests are cleared as by every write but a pull's (the next pull rewrites the row).
    """
    held.status = status
    held.last_updated = last_updated
    held.raw = {**held.raw, "status": status, "last_updated": format_datetime(last_updated)}
    held.digest = held.connectors_digest = None
    _update(held, _STATUS_COLUMNS)


def patch_connector(
    *,
    partner: Partner,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    patch: wire.ConnectorPatch,
) -> Outcome:
    with transaction.atomic():
        site = _site(
            partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=True
        )
        evse = site.require_evse(evse_uid)
        held = site.require_connector(evse, connector_id)
        if patch.last_updated < held.last_updated:
            return Outcome.IGNORED_OLDER
        merged = wire.ConnectorPatch.model_validate(_merged(_connector_document(held), patch))
        _write_connector(site, evse, merged, held, last_updated=patch.last_updated)
        _bump_evse(evse, patch.last_updated)
        _save_site(site, patch.last_updated)
    return Outcome.UPDATED


# Locations: reads --------------------------------------------------------------------------------


def pushed_location(
    *,
    partner: Partner,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
) -> dict[str, Any]:
    """The Location, EVSE or Connector as we hold it, as OCPI JSON (for the CPO to check)."""
    site = _site(
        partner=partner, country_code=country_code, party_id=party_id, location_id=location_id, lock=False
    )
    if evse_uid is None:
        return _location_document(site)
    evse = site.require_evse(evse_uid)
    if connector_id is None:
        return _evse_document(evse, site.connectors[evse.pk])
    connector = site.require_connector(evse, connector_id)
    return _connector_document(connector)


# Tariffs -----------------------------------------------------------------------------------------


def _held_tariff(
    *, partner: Partner, country_code: str, party_id: str, tariff_id: str, lock: bool
) -> Tariff | None:
    key = Location.make_key(country_code, party_id, tariff_id)
    tariffs = Tariff.objects.filter(key=key)
    held = (tariffs.select_for_update() if lock else tariffs).first()
    if held is not None and held.partner_id != partner.pk:
        _check_owner(partner, {key: held.partner_id}, f"Tariff {tariff_id!r} of {country_code}*{party_id}")
    return held


def put_tariff(*, partner: Partner, tariff: wire_tariffs.Tariff, received: Any = None) -> Outcome:
    """Create or replace a Tariff; every version is kept (TariffVersion) for pricing history,
    with `received`, the body exactly as the CPO sent it."""
    ids = {"country_code": tariff.country_code, "party_id": tariff.party_id, "tariff_id": tariff.id}
    with transaction.atomic():
        lock_parties(Tariff, [Location.make_key(tariff.country_code, tariff.party_id, tariff.id)])  # before the row lock
        held = _held_tariff(partner=partner, **ids, lock=True)
        replace_equal = (
            held is not None
            and held.last_updated == tariff.last_updated
            and held.raw != tariff.model_dump(mode="json", exclude_none=True)
        )
        result = store_tariffs(partner=partner, tariffs=[tariff], replace_equal=replace_equal, received=[received])
        if result.unchanged and held is not None and held.deleted_at is not None:
            # The same version PUT again after a DELETE: the CPO wants it back, and
            # store_tariffs rightly writes nothing for an identical last_updated.
            # Received now: a full pull that began before this is not the newer word on it.
            now = timezone.now()
            Tariff.objects.filter(pk=held.pk).update(deleted_at=None, received_at=now)
            Tariff.restore([held.pk], now)
            return Outcome.CREATED
    if result.older_ignored:
        return Outcome.IGNORED_OLDER
    if result.unchanged:
        return Outcome.UNCHANGED
    return Outcome.UPDATED if held is not None and held.deleted_at is None else Outcome.CREATED


def delete_pushed_tariff(*, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> None:
    """Soft delete; repeating it is a no-op that keeps the first deletion time."""
    with transaction.atomic():
        held = _held_tariff(
            partner=partner, country_code=country_code, party_id=party_id, tariff_id=tariff_id, lock=True
        )
        if held is None:
            raise UnknownObject(f"Unknown tariff {tariff_id!r} of {country_code}*{party_id}.")
        if held.deleted_at is None:
            delete_tariff(tariff=held)


def pushed_tariff(*, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> dict[str, Any]:
    held = _held_tariff(
        partner=partner, country_code=country_code, party_id=party_id, tariff_id=tariff_id, lock=False
    )
    if held is None or held.deleted_at is not None:
        raise UnknownObject(f"Unknown tariff {tariff_id!r} of {country_code}*{party_id}.")
    return dict(held.raw)
