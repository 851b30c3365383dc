"""A real Celery worker process runs our tasks against the same database (integration)."""

from __future__ import annotations

import time

import pytest

from roaming.models import EVSE, Location, Partner, SyncRun
from roaming.services import credentials as service
from roaming.simulator.network import build_network
from roaming.tasks import (
    check_partner_health,
    fetch_location,
    pull_splay,
    sync_all_partners,
    sync_partner_module,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_checks_a_partners_health_and_records_the_contact(emsp, simulator, celery_worker_process):
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    Partner.objects.filter(pk=partner.pk).update(last_contact_at=None)
    simulator.requests.clear()
    check_partner_health.apply_async((partner.pk,), queue=celery_worker_process.queue)
    assert _wait_for(lambda: Partner.objects.get(pk=partner.pk).last_contact_at is not None)
    assert ("GET", "/ocpi/versions") in simulator.requests


def test_a_worker_records_a_partners_failure(emsp, simulator, celery_worker_process):
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    simulator.faults["versions"] = "html"
    check_partner_health.apply_async((partner.pk,), queue=celery_worker_process.queue)
    assert _wait_for(lambda: "HTML" in Partner.objects.get(pk=partner.pk).last_error)


@pytest.mark.parametrize("celery_worker_process", ["prefork"], indirect=True)
def test_a_prefork_worker_pulls_locations_with_its_own_page_workers(emsp, simulator, celery_worker_process, settings):
    """As deployed: the task runs in a forked pool child, which forks the page workers in turn."""
    simulator.network = build_network(locations=60, seed=5, country_code="DE", party_id="SIM")
    simulator.page_limit = 20  # three pages: both page workers get work
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    sync_partner_module.apply_async((partner.pk, "locations", True), queue=celery_worker_process.queue)
    assert _wait_for(lambda: SyncRun.objects.filter(partner=partner, state=SyncRun.State.SUCCEEDED).exists(), timeout=60)
    run = SyncRun.objects.get(partner=partner)
    assert run.pages == 3 and run.objects_stored == 60 and run.rejected == 0
    assert Location.objects.filter(partner=partner).count() == 60
    assert EVSE.objects.filter(location__partner=partner).count() == sum(len(loc["evses"]) for loc in simulator.network.locations)


def test_a_worker_fetches_a_location_a_push_showed_we_lack(emsp, simulator, celery_worker_process):
    simulator.network = build_network(locations=5, seed=5, country_code="DE", party_id="SIM")
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    wanted = simulator.network.locations[3]
    fetch_location.apply_async((partner.pk, "DE", "SIM", wanted["id"]), queue=celery_worker_process.queue)
    assert _wait_for(lambda: Location.objects.filter(partner=partner, ocpi_id=wanted["id"]).exists())
    assert EVSE.objects.filter(location__ocpi_id=wanted["id"]).count() == len(wanted["evses"])


def test_the_beat_task_queues_a_pull_of_each_module_of_each_connected_partner_and_a_worker_runs_them(
    emsp, simulator, celery_worker_process, settings
):
    from config.celery import app

    simulator.network = build_network(locations=10, seed=5, country_code="DE", party_id="SIM")
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    settings.OCPI_PULL_SPLAY_SECONDS = 2
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker_process.queue  # the beat's tasks go where this test's worker listens
    try:
        assert sync_all_partners(full=False) == 2  # locations and tariffs
    finally:
        app.conf.task_default_queue = default_queue
    assert _wait_for(lambda: SyncRun.objects.filter(partner=partner, state=SyncRun.State.SUCCEEDED).count() == 2, timeout=60)
    assert sorted(SyncRun.objects.values_list("module", "mode")) == [("locations", "FULL"), ("tariffs", "FULL")]  # the first pull is whole
    assert Location.objects.filter(partner=partner).count() == 10


def test_scheduled_pulls_start_at_a_random_moment_within_the_splay(settings):
    settings.OCPI_PULL_SPLAY_SECONDS, settings.OCPI_FULL_PULL_SPLAY_SECONDS = 60, 1800
    increments = [pull_splay(full=False) for _ in range(300)]
    fulls = [pull_splay(full=True) for _ in range(300)]
    assert all(0 <= delay <= 60 for delay in increments) and max(increments) - min(increments) > 30
    assert all(0 <= delay <= 1800 for delay in fulls) and max(fulls) > 900
    settings.OCPI_PULL_SPLAY_SECONDS = 0
    assert {pull_splay(full=False) for _ in range(10)} == {0.0}
