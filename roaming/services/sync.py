"""Pulling Locations and Tariffs from a partner's Sender interface (checklist §2.3, §4, §5).

A run is a SyncRun row: FULL (no date_from) or INCREMENTAL (date_from = start of the last
successful run minus a small overlap, so an object updated while that run was reading is not
missed). Pages are followed by their Link header and each page is stored as it arrives, in one
transaction with the run's progress (pages, counters, the next URL): a crash resumes exactly at
the page it stopped at. One running run per partner and module (a partial unique index); a run
whose heartbeat is older than STALE_AFTER is taken over, not duplicated.

Errors: the outbound client already retries timeouts and 5xx a few times; what still fails ends
the run FAILED with `error_permanent` saying whether the Celery task should retry (it resumes at
`next_url`). A bad object is quarantined with its reason and the rest of the page is stored.
Objects for a party the partner does not represent are quarantined too: a partner can only
write its own data.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from roaming.models import EVSE, Connector, Location, Partner, SyncRun, Tariff
from roaming.ocpi.client import OcpiClient, OcpiResponse, Routing, TransportError, iterate_pages, same_origin
from roaming.ocpi.envelope import format_datetime
from roaming.ocpi.v221.feeds import (
    FeedDecodeError,
    FeedLimitError,
    FeedShapeError,
    FeedStatusError,
    cyclic_gc_paused,
    decode_page,
    storable,
    unstorable,
)
from roaming.services import bulk, forked, hubs, network

logger = logging.getLogger(__name__)

MODULES = ("locations", "tariffs")
INCREMENTAL_OVERLAP = dt.timedelta(minutes=1)
STALE_AFTER = SyncRun.STALE_AFTER


class SyncError(Exception):
    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after  # seconds the partner asked us to wait, if it said


class AlreadyRunning(SyncError):
    def __init__(self, run: SyncRun) -> None:
        super().__init__(f"A {run.module} sync for {run.partner} is already running (run #{run.pk}).", permanent=False)
        self.run = run


@dataclass
class PageProgress:
    """Told to the progress callback after each stored page."""

    run: SyncRun
    page_objects: int
    total: int | None


def _claim(partner: Partner, module: str, full: bool) -> SyncRun:
    """Start a run, or take over a stale one (a worker that died mid-run) and resume it."""
    now = timezone.now()
    with transaction.atomic():
        running = SyncRun.objects.select_for_update().filter(partner=partner, module=module, state=SyncRun.State.RUNNING).first()
        if running is not None:
            if not running.is_stalled(now):
                raise AlreadyRunning(running)
            if not (full and running.mode != SyncRun.Mode.FULL):
                running.heartbeat_at = now
                running.save(update_fields=["heartbeat_at"])
                logger.warning("Resuming stale sync run %s at %s", running.pk, running.next_url or "the first page")
                return running
            # A full pull asked for must not become the rest of a stalled increment: only a whole
            # list read from its first page says what the CPO no longer has.
            running.state, running.finished_at = SyncRun.State.FAILED, now
            running.error = f"Stalled, then superseded by a full pull. {running.error}".strip()[:4000]
            running.save(update_fields=["state", "finished_at", "error"])
        date_from = None
        mode = SyncRun.Mode.FULL
        if not full:
            last_ok = (
                SyncRun.objects.filter(partner=partner, module=module, state=SyncRun.State.SUCCEEDED).order_by("-started_at").first()
            )
            if last_ok is not None:
                mode = SyncRun.Mode.INCREMENTAL
                date_from = last_ok.started_at - INCREMENTAL_OVERLAP
        try:
            with transaction.atomic():
                return SyncRun.objects.create(
                    partner=partner, module=module, mode=mode, date_from=date_from, started_at=now, heartbeat_at=now
                )
        except IntegrityError as error:  # another worker claimed it between our check and insert
            raise SyncError("Another worker started the same sync a moment ago.", permanent=False) from error


@dataclass
class _Page:
    """One page made ready to write, or why it cannot be."""

    error: FeedDecodeError | None = None
    objects: int = 0  # objects of the partner's own parties
    own: list[Any] = field(default_factory=list)  # those objects, when the write needs them (Tariffs)
    received: list[Any] = field(default_factory=list)  # and each one as the partner sent it (Tariffs)
    prepared: network.PreparedLocations | None = None  # the Locations module's rows
    rejects: list[tuple[str, str, Any]] = field(default_factory=list)  # (object id, reason, raw)
    repairs: list[tuple[str, list[str], Any]] = field(default_factory=list)  # (object id, repairs, raw as sent)


def _prepare_page(
    body: bytes, *, partner: Partner, parties: set[tuple[str, str]], module: str, encoder: bulk.Encoder
) -> _Page:
    """Decode a page and build its rows: pure Python, no database (a worker process or thread).

    The cyclic GC is already paused for the whole run (the collector is process-wide).
    """
    try:
        page = decode_page(body, kind=module)  # type: ignore[call-overload]
    except FeedDecodeError as error:
        return _Page(error=error)
    own, sources, foreign, sent = [], [], [], []
    repairs: list[tuple[str, list[str], Any]] = [("", list(page.page_warnings), None)] if page.page_warnings else []
    for decoded in page.decoded:
        obj = decoded.obj
        if (obj.country_code.upper(), obj.party_id.upper()) in parties:
            own.append(obj)
            sources.append(decoded.source)
            sent.append(decoded)
            if decoded.warnings:
                repairs.append((obj.id, list(decoded.warnings), storable(decoded.original)))
        else:
            foreign.append(obj)
    rejects = [(r.object_id or "", r.reason, r.raw) for r in page.rejects]
    rejects += [
        (obj.id, f"belongs to {obj.country_code}*{obj.party_id}, a party this partner does not represent", obj.model_dump(mode="json"))
        for obj in foreign
    ]
    if module == "locations":
        try:
            prepared = network.prepare_locations(partner=partner, locations=own, sources=sources, encoder=encoder) if own else None
        except network.UNWRITABLE:
            # Something in an object our encoder cannot write that the decoder's cheap look did
            # not catch (nesting too deep for it): that object is quarantined, the rest stored.
            own, sources, unwritable = _writable(own, sources, partner=partner, encoder=encoder)
            rejects += unwritable
            prepared = network.prepare_locations(partner=partner, locations=own, sources=sources, encoder=encoder) if own else None
        return _Page(objects=len(own), prepared=prepared, rejects=rejects, repairs=repairs)
    # Each tariff exactly as sent, kept with its version for audit (an object that was repaired has
    # no `source`, but its `original`).
    received = [storable(d.as_sent) for d in sent]
    return _Page(objects=len(own), own=own, received=received, rejects=rejects, repairs=repairs)


def _writable(
    own: list[Any], sources: list[Any], *, partner: Partner, encoder: bulk.Encoder
) -> tuple[list[Any], list[Any], list[tuple[str, str, Any]]]:
    """The objects whose rows can be built, one by one, and quarantine entries for the others."""
    kept, kept_sources, rejects = [], [], []
    for obj, source in zip(own, sources, strict=True):
        try:
            network.prepare_locations(partner=partner, locations=[obj], sources=[source], encoder=encoder)
        except network.UNWRITABLE as error:
            why = (unstorable(source) if source is not None else None) or f"cannot be stored: {error}"
            readable = {"country_code": obj.country_code, "party_id": obj.party_id, "id": obj.id}
            rejects.append((obj.id, why, storable(source) if source is not None else readable))
        else:
            kept.append(obj)
            kept_sources.append(source)
    return kept, kept_sources, rejects


class _Pipeline:
    """Fetch, decode and prepare the next pages while the caller writes this one.

    A thread fetches (I/O); decoding and row building, the bulk of a page's Python, run in
    `workers` forked processes (page i on worker i mod n) so they use the other cores, or in the
    thread itself when there are none. The caller's writes are a few statements per page, each a
    single wait on the database with the GIL released (see `bulk`). Django connections are
    per-thread and the caller's transaction is its own; the workers never touch the database.
    Pages come out in order; a transport error comes out where it happened. At most `ahead`
    pages are in flight; everything stops when the caller leaves the loop early.
    """

    _DONE = object()

    def __init__(self, responses: Iterator[OcpiResponse], prepare: Callable[[bytes], _Page], *, workers: int = 0) -> None:
        self._responses = responses
        self._prepare = prepare
        self._pool = forked.ForkPool(prepare, workers) if workers and forked.can_fork() else None
        # In flight at most: the page being written, one being fetched, one per worker.
        ahead = 2 + (workers if self._pool is not None else 0)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._slots = threading.Semaphore(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocpi-sync-fetch", daemon=True)

    def _run(self) -> None:
        try:
            responses = iter(self._responses)
            number = 0
            while self._take_slot():
                response = next(responses, None)
                if response is None:
                    self._queue.put(self._DONE)
                    return
                if self._pool is not None:
                    worker = number % len(self._pool)
                    self._pool.submit(worker, response.body_bytes)
                    self._queue.put((response, worker))
                else:
                    page = self._prepare(response.body_bytes)
                    self._queue.put((response, page))
                    if page.error is not None:
                        return
                number += 1
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            self._queue.put(error)

    def _take_slot(self) -> bool:
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.1):
                return True
        return False

    def __iter__(self) -> Iterator[tuple[OcpiResponse, _Page]]:
        if self._pool is not None:
            self._pool.start()  # before any thread of ours: see forked
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is self._DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                response, page = item
                if self._pool is not None:
                    try:
                        page = self._pool.result(page)
                    except forked.WorkerLost as error:
                        raise SyncError(f"Page {response.url} could not be prepared: {error}", permanent=False) from error
                yield response, page
                if page.error is not None:
                    return
                self._slots.release()
        finally:
            self._stop.set()
            if self._pool is not None:
                self._pool.close()  # unblocks a fetch thread waiting on a busy worker
            self._thread.join()


def _store_page(partner: Partner, module: str, run: SyncRun, page: _Page, next_url: str) -> tuple[int, int]:
    error = page.error
    if isinstance(error, FeedStatusError):
        # A client error (2xxx) will be refused again; a server error (3xxx: "generic server
        # error", "unable to use the client's API"…) may be over at the next try.
        permanent = error.status_code is None or error.status_code < 3000
        raise SyncError(f"Page {run.pages + 1} was refused by the partner: {error}", permanent=permanent) from error
    if isinstance(error, FeedLimitError | FeedShapeError):
        # Well-formed but not a page we can read: the partner's server will send it again.
        raise SyncError(f"Page {run.pages + 1} could not be read: {error}", permanent=True) from error
    if error is not None:
        # Truncated or garbled JSON is usually a broken transfer: worth another try from this page.
        raise SyncError(f"Page {run.pages + 1} could not be read: {error}", permanent=False) from error
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A page is re-fetchable: its commit need not wait for the WAL flush. If the server
            # crashes the last pages roll back together with the run's progress (same
            # transaction), and the run resumes from the page it then records.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        rejects = page.rejects
        if page.prepared is not None:
            result = network.write_locations(page.prepared)
            rejects = rejects + _refused(result, page.prepared.ids, page.prepared.versions)
        elif module == "tariffs":
            result = network.store_tariffs(partner=partner, tariffs=page.own, received=page.received)
            if result.refused:
                tariffs = {Location.make_key(t.country_code, t.party_id, t.id): t for t in page.own}
                rejects = rejects + _refused(
                    result, {key: t.id for key, t in tariffs.items()}, {key: t.last_updated for key, t in tariffs.items()}
                )
        if rejects:
            network.quarantine(partner=partner, module=module, rejects=rejects, sync_run=run)
        # Objects quarantined after all (refused for another connection, unwritable) were not stored.
        quarantined = {object_id for object_id, _, _ in rejects}
        repairs = [entry for entry in page.repairs if not entry[0] or entry[0] not in quarantined]
        if repairs:
            network.record_repairs(partner=partner, module=module, repairs=repairs, sync_run=run)
        stored = page.objects - (len(rejects) - len(page.rejects))
        run.pages += 1
        run.objects_stored += stored
        run.rejected += len(rejects)
        run.repaired += sum(1 for object_id, _, _ in repairs if object_id)
        run.next_url = next_url
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["pages", "objects_stored", "rejected", "repaired", "next_url", "heartbeat_at"])
    return stored, len(rejects)


def _listed_keys(page: _Page) -> Iterator[str]:
    """The keys of every Location or Tariff a page lists, the ones we could not read included (when their
    ids are readable): they are listed, only broken, and must not be taken for sites gone."""
    if page.prepared is not None:
        yield from page.prepared.versions
    for tariff in page.own:
        yield Location.make_key(tariff.country_code, tariff.party_id, tariff.id)
    for _, _, raw in page.rejects:
        if isinstance(raw, dict) and all(isinstance(raw.get(name), str) for name in ("country_code", "party_id", "id")):
            yield Location.make_key(raw["country_code"], raw["party_id"], raw["id"])


def _refused(result: network.StoreResult, ids: dict[str, str], versions: dict[str, dt.datetime]) -> list[tuple[str, str, Any]]:
    """Quarantine entries for the objects another connection keeps (see `network.claimed_elsewhere`)."""
    entries = []
    for key, holder in result.refused.items():
        country_code, party_id, _ = Location.split_key(key)
        entries.append(
            (
                ids[key],
                f"held for another OCPI connection, {holder.name} (#{holder.pk}), which also represents"
                f" {country_code}*{party_id}; it passes to this one when that connection no longer does",
                {"country_code": country_code, "party_id": party_id, "id": ids[key], "last_updated": format_datetime(versions[key])},
            )
        )
    return entries


def sync_module(
    *,
    partner: Partner,
    module: str,
    full: bool = False,
    on_page: Callable[[PageProgress], None] | None = None,
) -> SyncRun:
    """One pull of `module` from `partner`. Returns the finished run; raises SyncError on failure."""
    if module not in MODULES:
        raise SyncError(f"Unknown module {module!r}; choose from {', '.join(MODULES)}.", permanent=True)
    if not partner.is_connected:
        raise SyncError(f"{partner} is not connected.", permanent=True)
    url = partner.endpoint_url(module, "SENDER")
    if not url:
        raise SyncError(f"{partner} publishes no {module} Sender endpoint.", permanent=True)
    prefetch_related_objects([partner], "roles")  # read once: the hub check, the parties, the operators' names
    hub = partner.hub_party()
    if hub is not None:
        # Who is behind the hub now: a party it connected since the last pull is one we accept.
        hubs.refresh_clients(partner=partner)
    parties = {(country, party) for country, _, party in (key.partition("*") for key in partner.parties)}
    partner.business_names  # noqa: B018 - read now, before the page workers fork (they never query)
    run = _claim(partner, module, full)
    params: dict[str, Any] | None = {"limit": settings.OCPI_PAGE_LIMIT}
    if run.date_from is not None:
        assert params is not None
        params["date_from"] = format_datetime(run.date_from)
        # An increment is a few pages at most: smaller ones let the workers prepare the next
        # while this one is written, instead of the whole increment waiting on its first page.
        params["limit"] = min(settings.OCPI_PAGE_LIMIT, settings.OCPI_INCREMENTAL_PAGE_LIMIT)
    start_url = url
    if run.next_url and same_origin(run.next_url, url):  # resuming: the saved Link carries offset, limit and filters
        start_url, params = run.next_url, None
    elif run.next_url:  # never saved so since links are checked first; still, our token goes to the endpoint's host only
        logger.warning("Sync run %s: not resuming at a URL off %s's endpoint host; starting over", run.pk, partner)
    # GET-all through a hub is addressed to the hub itself (checklist §2.1); a CPO to itself.
    party = hub or min(parties, default=(settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID))
    routing = Routing(to_country_code=party[0], to_party_id=party[1])
    # A whole list read by this process from its first page is "the new truth" (checklist §2.3):
    # every key it names, to hide afterwards what it no longer lists. A resumed run read part of
    # it in an earlier attempt, so it hides nothing.
    listed: set[str] | None = set() if run.mode == SyncRun.Mode.FULL and run.pages == 0 else None
    try:
        with OcpiClient(partner.outbound_token, base64_token=partner.token_base64) as client:
            responses = iterate_pages(client, start_url, params=params, routing=routing, parse=False)
            prepare = functools.partial(_prepare_page, partner=partner, parties=parties, module=module, encoder=bulk.encoder())
            # Locations pages are the heavy ones (a national network); tariffs stay in the thread.
            workers = settings.OCPI_SYNC_WORKERS if module == "locations" else 0
            # No cyclic GC during the run: a page is ~100,000 short-lived objects without
            # cycles, and collections kept re-scanning the pages in flight (see feeds).
            with cyclic_gc_paused():
                for response, page in _Pipeline(responses, prepare, workers=workers):
                    if run.total_reported is None and response.total_count is not None:
                        run.total_reported = response.total_count
                        run.save(update_fields=["total_reported"])
                    stored, _ = _store_page(partner, module, run, page, response.next_link or "")
                    if listed is not None:
                        listed.update(_listed_keys(page))
                    if on_page:
                        on_page(PageProgress(run=run, page_objects=stored, total=run.total_reported))
    except (TransportError, SyncError) as error:
        _fail(run, partner, module, error.message, permanent=error.permanent)
        if error.retry_after:
            partner.ask_to_wait(error.retry_after)
        raise SyncError(error.message, permanent=error.permanent, retry_after=error.retry_after) from error
    except OperationalError as error:
        # The database refused a page for a moment (a deadlock PostgreSQL broke, a lock wait over
        # its limit, a busy SQLite file): the page can be written again, from where the run stopped.
        message = f"The database could not store page {run.pages + 1} ({type(error).__name__}: {error})"
        _fail(run, partner, module, message, permanent=False)
        raise SyncError(message, permanent=False) from error
    except Exception as error:
        # A bug (ours or a library's) must not leave the run RUNNING: that would refuse every
        # next pull of this module until the heartbeat goes stale. Raised again with its traceback.
        _fail(run, partner, module, f"unexpected {type(error).__name__}: {error}", permanent=False)
        raise
    except BaseException as error:  # Ctrl-C in ocpi_sync, a worker shutting down: the next pull resumes
        _fail(run, partner, module, f"interrupted ({type(error).__name__}) after {run.pages} pages", permanent=False)
        raise
    if listed is not None and run.total_reported is not None and len(listed) < run.total_reported:
        # The CPO announced more than it sent (a page lost, a Link we could not follow): not its
        # whole list, so nothing it lacks is taken for gone.
        run.note = (
            f"The list had {len(listed):,} of the {run.total_reported:,} objects the CPO announced (X-Total-Count):"
            " taken for a list cut short, so nothing it lacks was set aside."
        )
        listed = None
    if listed is not None:
        model = Location if module == "locations" else Tariff
        try:
            with transaction.atomic():
                run.delisted, run.note = network.apply_full_list(
                    model=model, partner=partner, listed=listed, now=timezone.now(), since=run.started_at
                )
        except Exception as error:  # the pages are stored: the run succeeded, this last step did not
            logger.exception("Sync run %s: setting aside what the full list lacks failed", run.pk)
            run.delisted, run.note = 0, f"What the full list lacks was not set aside ({type(error).__name__}: {error}); the next full pull tries again."
    run.state = SyncRun.State.SUCCEEDED
    run.finished_at = timezone.now()
    run.next_url = ""
    run.error = ""  # a resumed run's "retrying after …"
    run.save(update_fields=["state", "finished_at", "next_url", "error", "delisted", "note"])
    if run.mode == SyncRun.Mode.FULL and module == "locations":
        _refresh_planner_statistics()
    partner.record_contact()
    return run


def _fail(run: SyncRun, partner: Partner, module: str, message: str, *, permanent: bool) -> None:
    run.state = SyncRun.State.FAILED
    run.error = message[:4000]
    run.error_permanent = permanent
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "error_permanent", "finished_at"])
    partner.record_error(f"{module} sync: {message}")


def _refresh_planner_statistics() -> None:
    """After a full pull, tell PostgreSQL what the network tables now hold.

    A first full pull loads ~150,000 rows in seconds; until autovacuum gets to them the planner
    has no statistics and reads every EVSE to find a thousand (measured: 40 ms instead of 3 for
    each page of the next incremental pull, and the map's queries suffer the same).
    """
    if connection.vendor != "postgresql":
        return  # SQLite plans from its indexes without statistics
    quote = connection.ops.quote_name
    # The columns queries filter and join on: sampling the JSON columns cost seconds.
    columns: dict[type[Location] | type[EVSE] | type[Connector], list[str]] = {
        Location: ["id", "key", "partner_id", "last_updated", "is_visible"],
        EVSE: ["id", "location_id", "uid_key", "status"],
        Connector: ["id", "evse_id", "id_key"],
    }
    tables = ", ".join(
        f"{quote(model._meta.db_table)} ({', '.join(quote(c) for c in names)})" for model, names in columns.items()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def resume_failed(*, partner: Partner, module: str) -> SyncRun | None:
    """Put the newest retryable FAILED run back to RUNNING (stale) so the next pull resumes it."""
    run = SyncRun.objects.filter(partner=partner, module=module).order_by("-started_at").first()
    if run is None or run.state != SyncRun.State.FAILED or run.error_permanent or not run.next_url:
        return None
    try:
        with transaction.atomic():
            updated = SyncRun.objects.filter(pk=run.pk, state=SyncRun.State.FAILED).update(
                state=SyncRun.State.RUNNING,
                heartbeat_at=timezone.now() - STALE_AFTER * 2,
                finished_at=None,
                error=f"Retrying after: {run.error}"[:4000],  # until it resumes; cleared when it succeeds
            )
    except IntegrityError:  # another worker claimed a new run since our read: it does the pull
        return None
    return run if updated else None
