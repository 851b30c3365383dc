"""A real Celery worker process runs our tasks against the same database (integration)."""

from __future__ import annotations

import time

import pytest

from roaming.models import Partner
from roaming.services import credentials as service
from roaming.tasks import check_partner_health

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
