"""Locations pages prepared in forked worker processes: same result as in a thread, failures handled."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.db import DatabaseError, connection, transaction

from roaming.models import EVSE, Connector, Location, Partner, SyncRun
from roaming.services import forked, sync
from roaming.simulator.network import build_network

pytestmark = pytest.mark.django_db(transaction=True)

BASE_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def network():
    return build_network(locations=90, seed=11, country_code="DE", party_id="SIM", base_time=BASE_TIME)


@pytest.fixture
def page_limit() -> int:
    return 20  # `partner`: see conftest.py


def _snapshot() -> list[tuple]:
    """What a pull left in the database, ids and order of insertion included."""
    locations = list(Location.objects.order_by("id").values_list("key", "raw", "evse_count", "available_evse_count", "max_power_kw", "connector_standards", "status_updated_at", "is_visible", "opening_times", "last_updated"))
    evses = list(EVSE.objects.order_by("id").values_list("location__key", "uid", "status", "capabilities", "raw", "last_updated"))
    connectors = list(Connector.objects.order_by("id").values_list("evse__uid", "ocpi_id", "standard", "max_electric_power", "tariff_ids", "last_updated"))
    return [tuple(locations), tuple(evses), tuple(connectors)]


def test_pages_prepared_by_worker_processes_store_exactly_what_a_thread_stores(partner, settings, new_children):
    assert forked.can_fork()
    settings.OCPI_SYNC_WORKERS = 0
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.pages == 5 and run.objects_stored == 90
    in_thread = _snapshot()
    Connector.objects.all().delete()
    EVSE.objects.all().delete()
    Location.objects.all().delete()

    settings.OCPI_SYNC_WORKERS = 2
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.pages == 5 and run.objects_stored == 90
    assert _snapshot() == in_thread
    # The workers are gone and the parent's connection still works (a worker closing its copy
    # would have ended the PostgreSQL session).
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
    assert not new_children()


@pytest.fixture
def new_children():
    """The child processes the test started that still exist, zombies included (this process may
    have others from before: a session's browser, say)."""
    before = set(_children())
    return lambda: [pid for pid in _children() if pid not in before]


def _children() -> list[int]:
    """Our child processes that still exist (zombies included)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.append(int(entry))
    return found


def test_a_worker_that_dies_fails_the_run_retryably_and_the_next_run_resumes(partner, network, settings, monkeypatch, new_children):
    settings.OCPI_SYNC_WORKERS = 2
    network_ids = [location["id"].upper() for location in network.locations]
    real = sync._prepare_page
    third_page_location = network_ids[45]

    def dies_on_the_third_page(body, **kwargs):
        # Runs in a worker (forked after this was patched in).
        page = real(body, **kwargs)
        if page.prepared is not None and any(key.endswith(f"*{third_page_location}") for key in page.prepared.versions):
            os._exit(9)  # as if killed: out of memory, say
        return page

    monkeypatch.setattr(sync, "_prepare_page", dies_on_the_third_page)
    with pytest.raises(sync.SyncError) as failure:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert failure.value.permanent is False
    assert "died" in str(failure.value)
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.FAILED and not run.error_permanent
    assert run.pages == 2 and Location.objects.count() == 40  # pages 1 and 2 were stored
    assert not new_children()

    monkeypatch.setattr(sync, "_prepare_page", real)
    assert sync.resume_failed(partner=partner, module="locations") is not None
    resumed = sync.sync_module(partner=partner, module="locations", full=True)
    assert resumed.pk == run.pk and resumed.state == SyncRun.State.SUCCEEDED
    assert Location.objects.count() == 90


def test_an_error_raised_in_a_worker_reaches_the_run_with_its_message(partner, settings, monkeypatch, new_children):
    settings.OCPI_SYNC_WORKERS = 2

    def broken(body, **kwargs):
        raise ValueError("a bug in row building")

    monkeypatch.setattr(sync, "_prepare_page", broken)
    with pytest.raises(ValueError, match="a bug in row building"):
        sync.sync_module(partner=partner, module="locations", full=True)
    assert not new_children()


def test_a_fork_pool_answers_in_order_and_carries_exceptions(new_children):
    def work(job):
        if job == "boom":
            raise KeyError(job)
        return job * 2

    with forked.ForkPool(work, 2) as pool:
        assert len(pool) == 2
        for number, job in enumerate([1, 2, 3, 4, 5, 6]):
            pool.submit(number % 2, job)
        assert [pool.result(number % 2) for number in range(6)] == [2, 4, 6, 8, 10, 12]
        pool.submit(1, "boom")
        with pytest.raises(KeyError, match="boom"):
            pool.result(1)
        pool.submit(1, 21)  # the worker lives on after a failed job
        assert pool.result(1) == 42
    assert not new_children()


@pytest.mark.parametrize("geometry", ["a point in another SRID", "a line"])
def test_the_database_refuses_a_point_column_value_that_is_not_a_wgs84_point(partner, geometry):
    """SpatiaLite checks with the lean triggers of migration 0004, PostGIS with the column type."""
    location = Location.objects.create(
        partner=partner, country_code="DE", party_id="SIM", ocpi_id="GEO1", key="DE*SIM*GEO1", publish=True,
        address="Street 1", country="DEU", point="POINT(13.4 52.5)", time_zone="Europe/Berlin",
        last_updated=BASE_TIME, raw={}, received_at=BASE_TIME,
    )  # fmt: skip
    if connection.vendor == "postgresql":
        value = {"a point in another SRID": "ST_SetSRID(ST_MakePoint(1, 2), 3857)", "a line": "ST_GeomFromText('LINESTRING(1 2, 3 4)', 4326)"}[geometry]
    else:
        value = {"a point in another SRID": "MakePoint(1, 2, 3857)", "a line": "GeomFromText('LINESTRING(1 2, 3 4)', 4326)"}[geometry]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'UPDATE "roaming_location" SET "point" = {value} WHERE "id" = %s', [location.pk])
    location.refresh_from_db()
    assert (location.point.x, location.point.y, location.point.srid) == (13.4, 52.5, 4326)


def test_a_page_the_partner_refused_crosses_back_from_a_worker_with_its_status():
    """An OCPI error envelope is a FeedStatusError in the page a worker returns: it must unpickle."""
    from roaming.ocpi.v221.feeds import FeedStatusError

    def work(body):
        return sync._prepare_page(body, partner=Partner(pk=1, name="P"), parties={("DE", "SIM")}, module="locations", encoder=None)

    refused = b'{"status_code": 2001, "status_message": "Invalid or missing parameters", "timestamp": "2026-11-21T10:00:00Z"}'
    with forked.ForkPool(work, 1) as pool:
        pool.submit(0, refused)
        page = pool.result(0)
    assert isinstance(page.error, FeedStatusError)
    assert (page.error.status_code, page.error.status_message) == (2001, "Invalid or missing parameters")
    assert "2001" in str(page.error) and page.prepared is None and page.objects == 0
