"""A push and a pull (or a staff fetch) writing the same Location at the same moment, over two real
database connections: whichever commits last must leave rows and summary as one whole version."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from roaming.models import EVSE, Location, Partner, SyncRun, Tariff
from roaming.ocpi.v221 import locations as wire
from roaming.ocpi.v221 import tariffs as wire_tariffs
from roaming.services import network as network_service
from roaming.services import push, sync
from tests.ocpi_wire.paths import example

from .factories import PartnerFactory, connected_partner

pytestmark = pytest.mark.django_db(transaction=True)

_PG_ONLY = (
    "row locks between two connections are PostgreSQL's (CI's second pass); on SQLite a transaction holds the"
    " only write lock from its start, so no write can land between another's read and its write"
)


class _Writer(threading.Thread):
    """`work` on a connection of its own; `outcome` gets what it returned or raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.work, self.outcome, self.pid = work, [], None
        self.started_work = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started_work.set()
            self.outcome.append(self.work())
        except Exception as error:  # noqa: BLE001 - what the tests assert
            self.outcome.append(repr(error))
        finally:
            self.started_work.set()
            connections.close_all()

    def waits_for_a_lock(self) -> bool:
        with connection.cursor() as cursor:  # pg_locks is live, not a snapshot of the transaction
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = %s", [self.pid])
            return bool(cursor.fetchone()[0])

    def start_until_it_waits(self) -> bool:
        """Start it; return once it waits for a lock (True) or has finished (False)."""
        self.start()
        self.started_work.wait(10)
        deadline = time.monotonic() + 10
        while self.is_alive() and time.monotonic() < deadline:
            if self.waits_for_a_lock():
                return True
            time.sleep(0.01)
        return False

    def finish(self) -> list[Any]:
        self.join(10)
        assert not self.is_alive()
        return self.outcome


@contextlib.contextmanager
def _a_push_right_after_the_pull_reads(monkeypatch, model: type, push_it: Callable[[], None]) -> Iterator[None]:
    """Inside the block, a pull's read of what we hold of `model` is followed at once by `push_it`
    on another connection; the pull goes on when the push has finished or waits for a lock."""
    read_what_it_holds = network_service._held
    pushing = _Writer(push_it)

    def held_then_a_push_arrives(held_model, keys, **options):
        holding = read_what_it_holds(held_model, keys, **options)
        if held_model is model and threading.current_thread() is not pushing:  # the pull's read, not the push's own
            pushing.start_until_it_waits()
        return holding

    monkeypatch.setattr(network_service, "_held", held_then_a_push_arrives)
    yield
    assert not any(isinstance(result, str) for result in pushing.finish()), pushing.outcome


def _summary_from_rows(location: Location) -> dict[str, Any]:
    evses = [network_service.facts_from_row(row, list(row.connectors.all())) for row in EVSE.objects.filter(location=location)]
    return network_service.summarize(publish=location.publish, evses=evses)


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_a_status_push_that_lands_while_a_pull_writes_its_location_is_applied_after_it(monkeypatch):
    partner, _ = connected_partner("BE", "BEC")
    held = example("location_example.json")  # last_updated 2015-06-29T20:39:09Z
    for evse in held["evses"]:
        evse["status"] = "AVAILABLE"
    push.put_location(partner=partner, location=wire.Location.model_validate(held))
    pulled = copy.deepcopy(held)
    pulled["name"] = "As pulled"
    pulled["last_updated"] = pulled["evses"][1]["last_updated"] = "2015-07-01T00:00:00Z"

    def push_a_newer_status() -> None:
        push.patch_evse(
            partner=partner, country_code="BE", party_id="BEC", location_id="LOC1", evse_uid="3257",
            patch=wire.EvsePatch.model_validate({"status": "CHARGING", "last_updated": "2015-07-02T00:00:00Z"}),
        )

    with _a_push_right_after_the_pull_reads(monkeypatch, Location, push_a_newer_status):
        network_service.store_locations(partner=partner, locations=[wire.Location.model_validate(pulled)])

    location = Location.objects.get()
    patched = EVSE.objects.get(uid="3257")
    assert (patched.status, patched.last_updated.isoformat()) == ("CHARGING", "2015-07-02T00:00:00+00:00")
    assert location.name == "As pulled"
    summary = _summary_from_rows(location)
    assert (location.available_evse_count, location.status_updated_at) == (
        summary["available_evse_count"],
        summary["status_updated_at"],
    )
    assert location.available_evse_count == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_a_tariff_pushed_while_a_pull_writes_an_older_version_of_it_stays_the_current_one(monkeypatch):
    partner, _ = connected_partner("DE", "ALL")
    first = example("tariff_13_simple_3hour_5parking.json")  # last_updated 2018-12-17T17:00:43Z
    push.put_tariff(partner=partner, tariff=wire_tariffs.Tariff.model_validate(first))
    pulled = {**first, "currency": "CHF", "last_updated": "2019-01-01T00:00:00Z"}
    pushed = {**first, "currency": "NOK", "last_updated": "2019-02-01T00:00:00Z"}

    def push_the_newest() -> None:
        push.put_tariff(partner=partner, tariff=wire_tariffs.Tariff.model_validate(pushed))

    with _a_push_right_after_the_pull_reads(monkeypatch, Tariff, push_the_newest):
        network_service.store_tariffs(partner=partner, tariffs=[wire_tariffs.Tariff.model_validate(pulled)])

    tariff = Tariff.objects.get()
    assert (tariff.currency, tariff.last_updated.isoformat()) == ("NOK", "2019-02-01T00:00:00+00:00")
    assert [v.last_updated.year * 100 + v.last_updated.month for v in tariff.versions.order_by("last_updated")] == [201812, 201901, 201902]


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_a_status_push_that_waited_for_another_on_the_same_evse_counts_from_the_status_that_one_left():
    # The waiting statement's CHECK constraint was evaluated on the Location as of its snapshot
    # (no EVSE available) with the status the first push left (AVAILABLE): -1, and it failed.
    partner, _ = connected_partner("BE", "BEC")
    held = example("location_example.json")
    for evse in held["evses"]:
        evse["status"] = "CHARGING"
    push.put_location(partner=partner, location=wire.Location.model_validate(held))

    def patch(status: str, at: str) -> push.Outcome:
        body = wire.EvsePatch.model_validate({"status": status, "last_updated": at})
        return push.patch_evse(partner=partner, country_code="BE", party_id="BEC", location_id="LOC1", evse_uid="3256", patch=body)

    def available() -> None:
        assert patch("AVAILABLE", "2015-07-01T00:00:00Z") == push.Outcome.UPDATED
        assert Location.objects.get().available_evse_count == 1

    outcome = _second_writer_waits_for_the_first(available, lambda: patch("CHARGING", "2015-07-02T00:00:00Z"))

    assert outcome == [push.Outcome.UPDATED]
    location = Location.objects.get()
    assert EVSE.objects.get(uid="3256").status == "CHARGING"
    assert location.available_evse_count == _summary_from_rows(location)["available_evse_count"] == 0


def test_pushes_keep_arriving_while_pulls_write_and_neither_fails_nor_leaves_a_summary_wrong(partner, network):
    # On SQLite a transaction took the write lock only at its first write: one that had read
    # before a push committed then failed at once with "database is locked", pushes and pages alike.
    sync.sync_module(partner=partner, module="locations", full=True)
    targets = list(EVSE.objects.values_list("location__country_code", "location__party_id", "location__ocpi_id", "uid"))
    stop, failures, applied = threading.Event(), [], []

    def push_statuses() -> None:
        chooser = random.Random(7)
        try:
            while not stop.is_set():
                country_code, party_id, location_id, uid = chooser.choice(targets)
                body = {"status": chooser.choice(["AVAILABLE", "CHARGING"]), "last_updated": dt.datetime.now(dt.UTC).isoformat()}
                try:
                    push.patch_evse(partner=partner, country_code=country_code, party_id=party_id, location_id=location_id,
                                    evse_uid=uid, patch=wire.EvsePatch.model_validate(body))  # fmt: skip
                    applied.append(uid)
                except Exception as error:  # noqa: BLE001 - what the test counts
                    failures.append(repr(error))
                time.sleep(0.003)
        finally:
            connections.close_all()

    pushing = threading.Thread(target=push_statuses)
    pushing.start()
    runs = []
    try:
        for seed in range(3):
            network.change_statuses(0.5, at=dt.datetime.now(dt.UTC), rng_seed=seed)  # pages that write
            network.invalidate()
            runs.append(sync.sync_module(partner=partner, module="locations", full=True))
    finally:
        stop.set()
        pushing.join(10)

    assert failures == [] and len(applied) > 20
    assert all(run.state == SyncRun.State.SUCCEEDED for run in runs)
    for location in Location.objects.all():
        summary = _summary_from_rows(location)
        assert (location.evse_count, location.available_evse_count, location.status_updated_at) == (
            summary["evse_count"], summary["available_evse_count"], summary["status_updated_at"],
        ), location.ocpi_id  # fmt: skip



def test_two_connections_pushing_statuses_to_the_same_evses_neither_fail_nor_leave_the_summary_wrong():
    partner, _ = connected_partner("BE", "BEC")
    push.put_location(partner=partner, location=wire.Location.model_validate(example("location_example.json")))
    failures: list[str] = []

    def push_statuses(seed: int) -> None:
        chooser = random.Random(seed)
        try:
            for _ in range(150):
                body = {"status": chooser.choice(["AVAILABLE", "CHARGING"]), "last_updated": dt.datetime.now(dt.UTC).isoformat()}
                try:
                    push.patch_evse(partner=partner, country_code="BE", party_id="BEC", location_id="LOC1",
                                    evse_uid=chooser.choice(["3256", "3257"]), patch=wire.EvsePatch.model_validate(body))  # fmt: skip
                except Exception as error:  # noqa: BLE001 - what the test counts
                    failures.append(repr(error))
        finally:
            connections.close_all()

    pushers = [threading.Thread(target=push_statuses, args=(seed,)) for seed in (1, 2)]
    for pusher in pushers:
        pusher.start()
    for pusher in pushers:
        pusher.join(60)

    assert failures == []
    location = Location.objects.get()
    summary = _summary_from_rows(location)
    assert (location.available_evse_count, location.status_updated_at) == (summary["available_evse_count"], summary["status_updated_at"])


def _second_writer_waits_for_the_first(first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """`first` in a transaction; `second` on another connection while it is open; then `first`
    commits. Returns what `second` returned or raised."""
    writing = _Writer(second)
    with transaction.atomic():
        first()
        assert writing.start_until_it_waits(), f"the second writer should wait for the first's commit: {writing.outcome}"
    return writing.finish()


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
@pytest.mark.parametrize("newer_first", [True, False], ids=["newer-first", "older-first"])
def test_two_writers_creating_the_same_location_at_once_leave_the_newer_whole(newer_first):
    # Nothing to lock yet: each found no Location, and the later one's EVSEs went over the other's.
    partner, _ = connected_partner("BE", "BEC")
    older = example("location_example.json")  # two EVSEs, 3256 and 3257
    for evse in older["evses"]:
        evse["status"] = "AVAILABLE"
    newer = copy.deepcopy(older)
    newer["last_updated"] = "2015-07-01T00:00:00Z"
    newer["evses"] = [dict(older["evses"][0], status="CHARGING", last_updated="2015-07-01T00:00:00Z")]  # 3257 gone

    def put(body: dict[str, Any]) -> Callable[[], push.Outcome]:
        return lambda: push.put_location(partner=partner, location=wire.Location.model_validate(body))

    def page(body: dict[str, Any]) -> Callable[[], Any]:  # as a pull's page writes it
        return lambda: network_service.store_locations(partner=partner, locations=[wire.Location.model_validate(body)])

    first, second = (put(newer), page(older)) if newer_first else (page(older), put(newer))
    outcome = _second_writer_waits_for_the_first(first, second)

    assert not any(isinstance(result, str) for result in outcome), outcome
    location = Location.objects.get()
    assert location.last_updated.isoformat() == "2015-07-01T00:00:00+00:00"
    # 3257 only the older version listed: stored by it first, then REMOVED by the newer; or never stored.
    assert dict(EVSE.objects.values_list("uid", "status")) == {"3256": "CHARGING", **({} if newer_first else {"3257": "REMOVED"})}
    summary = _summary_from_rows(location)
    assert (location.evse_count, location.available_evse_count) == (summary["evse_count"], summary["available_evse_count"]) == (1, 0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_two_puts_of_the_same_new_tariff_at_once_leave_the_newer_current():
    partner, _ = connected_partner("DE", "ALL")
    older = example("tariff_13_simple_3hour_5parking.json")
    newer = {**older, "currency": "NOK", "last_updated": "2019-02-01T00:00:00Z"}

    def put(body: dict[str, Any]) -> Callable[[], push.Outcome]:
        return lambda: push.put_tariff(partner=partner, tariff=wire_tariffs.Tariff.model_validate(body))

    outcome = _second_writer_waits_for_the_first(put(newer), put(older))

    assert outcome == [push.Outcome.IGNORED_OLDER]
    tariff = Tariff.objects.get()
    assert (tariff.currency, tariff.last_updated.isoformat()) == ("NOK", "2019-02-01T00:00:00+00:00")
    assert tariff.versions.count() == 2  # the older one was in force before: history keeps it


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_two_cpos_a_hub_tells_us_of_at_once_are_both_accepted():
    # Each recomputed the hub's parties without the other; the second write dropped the first CPO
    # for good (the same ClientInfo again is unchanged and recomputes nothing).
    from roaming.ocpi.v221.hubclientinfo import ClientInfo
    from roaming.services import hubs

    hub = PartnerFactory()
    hub.replace_roles([dict(role="HUB", country_code="NL", party_id="HUB", business_name="Hub")])
    hub.refresh_parties()

    def connected(country_code: str, party_id: str) -> Callable[[], push.Outcome]:
        info = {"country_code": country_code, "party_id": party_id, "role": "CPO", "status": "CONNECTED", "last_updated": "2026-11-01T10:00:00Z"}
        return lambda: hubs.store_client_info(partner=Partner.objects.get(pk=hub.pk), info=ClientInfo.model_validate(info))

    outcome = _second_writer_waits_for_the_first(connected("DE", "FST"), connected("BE", "SLW"))

    assert outcome == [push.Outcome.CREATED]
    assert Partner.objects.get(pk=hub.pk).parties == ["BE*SLW", "DE*FST", "NL*HUB"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason=_PG_ONLY)
def test_a_partners_endpoints_and_roles_replaced_twice_at_once_are_one_set():
    # Each deleted what it saw and inserted its own: the endpoints twice over, or a roles IntegrityError.
    partner, _ = connected_partner("DE", "ABC")
    endpoints = [{"identifier": "locations", "role": "SENDER", "url": "http://cpo.test/ocpi/2.2.1/locations"}]
    roles = [{"role": "CPO", "country_code": "DE", "party_id": "ABC", "business_name": "ABC"}]

    def replace() -> None:
        held = Partner.objects.get(pk=partner.pk)
        held.replace_endpoints(endpoints)
        held.replace_roles(roles)

    assert _second_writer_waits_for_the_first(replace, replace) == [None]
    assert partner.endpoints.count() == 1 and partner.roles.count() == 1
