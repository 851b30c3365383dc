"""A real Celery worker process runs our tasks against the same database (integration)."""

from __future__ import annotations

import time

import pytest

from roaming.models import EVSE, Location, Partner, SyncRun
from roaming.services import credentials as service
from roaming.simulator.network import build_network
from roaming.tasks import check_partner_health, fetch_location, sync_partner_module

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
