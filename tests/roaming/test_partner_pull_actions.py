"""Staff start a pull from a partner's page: "Pull now" (what changed since the last pull) and
"Full pull now" (everything it publishes, which brings back the tariffs its chargers name that we
lack). Over real HTTP with the CPO simulator; Celery runs the queued pulls in the request (eager),
as a worker would moments later."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from kombu.exceptions import OperationalError

from roaming import selectors
from roaming.models import EVSE, Partner, SyncRun, Tariff
from roaming.services.sync import sync_module
from roaming.tasks import sync_partner_module

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    pass


def _staff(django_user_model, *permissions: str):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("ops", "ops@example.com", "pw-123456789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_partner", "view_syncrun", *permissions]))
    return user


def _run_action(client, action: str, partners) -> str:
    response = client.post(
        "/admin/roaming/partner/", {"action": action, "_selected_action": [partner.pk for partner in partners]}, follow=True
    )
    assert response.status_code == 200
    return " | ".join(str(message) for message in response.context["messages"])


def _pulls(simulator, module: str) -> list[str]:
    return [path for method, path in simulator.requests if method == "GET" and f"/{module}" in path]


def test_a_full_pull_brings_back_the_tariffs_the_chargers_name(client, partner, simulator, network, django_user_model):
    sync_module(partner=partner, module="locations", full=True)  # the tariffs never came
    assert selectors.missing_tariffs(partner.pk).tariffs > 0
    client.force_login(_staff(django_user_model, "change_partner"))
    page = client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "Full pull now" in page and "show drivers no price" in page

    said = _run_action(client, "full_pull_now", [partner])

    assert f"{partner}: a full pull of its locations and tariffs is queued." in said
    assert f"?partner__id__exact={partner.pk}" in said  # where to see how it went
    assert Tariff.objects.filter(partner=partner).count() == len(network.tariffs)
    assert selectors.missing_tariffs(partner.pk).tariffs == 0
    runs = SyncRun.objects.filter(partner=partner).order_by("pk")
    assert [(run.module, run.mode, run.state) for run in runs][-2:] == [
        ("locations", "FULL", "SUCCEEDED"), ("tariffs", "FULL", "SUCCEEDED")
    ]
    assert "None: we hold every tariff" in client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()


def test_pull_now_asks_only_for_what_changed_since_the_last_pull(client, partner, simulator, network, django_user_model):
    for module in ("locations", "tariffs"):
        sync_module(partner=partner, module=module, full=True)
    change = network.change_statuses(0.05, at=dt.datetime.now(dt.UTC), rng_seed=3)[0]
    simulator.requests.clear()
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, "pull_now", [partner])

    assert "a pull of what changed of its locations and tariffs is queued" in said
    assert EVSE.objects.get(location__ocpi_id=change.location_id, uid=change.evse_uid).status == change.status
    assert all("date_from=" in path for path in _pulls(simulator, "locations") + _pulls(simulator, "tariffs"))
    assert SyncRun.objects.filter(partner=partner, mode="INCREMENTAL", state="SUCCEEDED").count() == 2


def test_staff_who_may_not_operate_partners_cannot_start_a_pull(client, partner, simulator, django_user_model):
    simulator.requests.clear()
    client.force_login(_staff(django_user_model))  # may look at partners, nothing more

    assert "full_pull_now" not in client.get("/admin/roaming/partner/").content.decode()  # not offered
    said = _run_action(client, "full_pull_now", [partner])  # and not run when posted anyway

    assert "queued" not in said
    assert simulator.requests == [] and not SyncRun.objects.exists()


def test_a_partner_that_is_not_connected_is_not_pulled(client, partner, simulator, django_user_model):
    Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.SUSPENDED)
    simulator.requests.clear()
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, "full_pull_now", [partner])

    assert f"{partner}: not connected, nothing to pull." in said
    assert simulator.requests == [] and not SyncRun.objects.exists()


def test_staff_are_told_when_a_pull_cannot_be_queued(client, partner, simulator, django_user_model, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(sync_partner_module, "delay", broker_down)  # fault injection: the broker is down
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, "pull_now", [partner])

    assert f"{partner}: could not be queued (Connection refused)." in said
    assert not SyncRun.objects.exists()


def test_the_partner_page_says_how_each_pull_went_and_what_we_hold(client, partner, simulator, network, django_user_model):
    sync_module(partner=partner, module="locations", full=True)
    sync_module(partner=partner, module="tariffs", full=True)
    simulator.faults["tariffs"] = "html"  # then its back end breaks
    assert sync_partner_module.delay(partner.pk, "tariffs", False).get().startswith("failed: ")  # a permanent error
    client.force_login(_staff(django_user_model, "view_location", "view_evse", "view_tariff", "view_quarantinedobject"))

    page = client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()

    live = [evse for location in network.locations for evse in location["evses"] if evse["status"] != "REMOVED"]
    assert "Locations: the last pull (full) succeeded just now" in page
    assert f"{len(network.locations):,} stored, 0 quarantined" in page
    assert "Tariffs: the last pull (incremental) failed just now" in page and "HTML" in page
    assert "The last that succeeded: succeeded just now" in page and f"{len(network.tariffs):,} stored" in page
    assert f'partner__id__exact={partner.pk}">{len(network.locations):,} locations</a>' in page
    assert f">{len(live):,} EVSEs</a> ({sum(e['status'] == 'AVAILABLE' for e in live):,} available now)" in page
    assert f">{len(network.tariffs):,} tariffs</a>" in page
    # The EVSE link filters by a lookup the EVSE list must allow (else the admin answers "?e=1").
    evse_list = client.get(f"/admin/roaming/evse/?location__partner__id__exact={partner.pk}")
    assert evse_list.status_code == 200 and evse_list.context["cl"].result_count == sum(len(site["evses"]) for site in network.locations)


def test_a_pull_already_running_is_said_and_not_queued_again(client, partner, simulator, django_user_model):
    from django.utils import timezone

    SyncRun.objects.create(
        partner=partner, module="locations", mode="FULL", started_at=timezone.now(), heartbeat_at=timezone.now(),
        objects_stored=2_000, total_reported=50_000,
    )
    simulator.requests.clear()
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, "full_pull_now", [partner])

    assert re.search(rf"{partner}: a pull of its locations is already running \(running for \d+ s: 2,000 of 50,000 objects \(4%\)\)", said)
    assert f"{partner}: a full pull of its tariffs is queued." in said
    assert _pulls(simulator, "locations") == [] and _pulls(simulator, "tariffs")
