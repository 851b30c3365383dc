"""A push that shows we are missing a Location makes us ask the CPO for it (checklist §4.1's
recommendation for a PUT or PATCH under an unknown Location): over our real OCPI views, with the
partner registered with the CPO simulator, which answers the GET over real HTTP. Celery runs the
task in the request (eager), as a worker would moments later."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from django.core.cache import cache
from kombu.exceptions import OperationalError

from roaming.models import EVSE, Connector, Location, QuarantinedObject, RepairedObject
from roaming.services import fetch
from roaming.tasks import fetch_location

from .ocpi_http import assert_refused, call

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/ocpi/2.2.1/locations"


@pytest.fixture(autouse=True)
def _eager_tasks_and_a_clean_guard(settings, eager_tasks):
    # The once-a-minute guard lives in the cache, which outlives a test's database and, with Redis,
    # is shared with other test processes: each test gets a cache of its own.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fetch-tests"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def token(partner) -> str:
    """The token the CPO calls us with."""
    issued = partner.issue_inbound_token()
    partner.save()
    return issued


def _broker_down(*args, **kwargs):
    raise OperationalError("Connection refused")


def status_patch(location: dict, evse_index: int = 0, status: str = "CHARGING") -> tuple[str, dict]:
    evse = location["evses"][evse_index]
    url = f"{BASE}/DE/SIM/{location['id']}/{evse['uid']}"
    return url, {"status": status, "last_updated": "2026-11-21T12:00:00Z"}


def location_gets(simulator, location_id: str) -> int:
    return sum(1 for method, path in simulator.requests if method == "GET" and path.endswith(f"/locations/{location_id}"))


def test_a_status_patch_for_an_unknown_location_is_answered_2003_and_the_location_is_fetched(client, partner, token, simulator, network):
    wanted = network.locations[4]
    url, body = status_patch(wanted)

    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003, "nknown location")

    location = Location.objects.get()
    assert (location.key, location.partner_id) == (f"DE*SIM*{wanted['id']}", partner.pk)
    assert EVSE.objects.filter(location=location).count() == len(wanted["evses"])
    assert Connector.objects.filter(evse__location=location).count() == sum(len(e["connectors"]) for e in wanted["evses"])
    assert location.raw["name"] == wanted["name"]  # as the CPO published it
    assert location_gets(simulator, wanted["id"]) == 1
    # The next status change of that site now applies.
    assert call(client, "PATCH", url, token, body=body).status_code == 200
    assert EVSE.objects.get(location=location, uid=wanted["evses"][0]["uid"]).status == "CHARGING"


def test_a_put_of_an_evse_under_an_unknown_location_fetches_the_location(client, partner, token, simulator, network):
    wanted = network.locations[7]
    evse = wanted["evses"][0]

    response = call(client, "PUT", f"{BASE}/DE/SIM/{wanted['id']}/{evse['uid']}", token, body=evse)

    assert_refused(response, 404, 2003)
    assert Location.objects.filter(ocpi_id=wanted["id"]).exists()


def test_an_unknown_evse_under_a_location_we_hold_refreshes_that_location(client, partner, token, simulator, network):
    # We hold the site without its last EVSE (a PUT we missed while we were down).
    wanted = next(location for location in network.locations if len(location["evses"]) >= 2)
    behind = copy.deepcopy(wanted)
    behind["evses"] = behind["evses"][:-1]
    assert call(client, "PUT", f"{BASE}/DE/SIM/{wanted['id']}", token, body=behind).status_code == 201
    url, body = status_patch(wanted, evse_index=len(wanted["evses"]) - 1)

    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2000, "Unknown EVSE")

    held = {evse.uid for evse in EVSE.objects.filter(location__ocpi_id=wanted["id"])}
    assert held == {evse["uid"] for evse in wanted["evses"]}


def test_pushes_for_the_same_missing_location_fetch_it_once_a_minute(client, partner, token, simulator, network):
    # A location the CPO's Sender does not know either: the fetch fails, and a flood of status
    # changes for it (several a second) does not become a flood of GETs.
    ghost = copy.deepcopy(network.locations[2])
    ghost["id"] = "GHOST1"
    for status in ("CHARGING", "AVAILABLE", "CHARGING"):
        url, body = status_patch(ghost, status=status)
        assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)

    assert location_gets(simulator, "GHOST1") == 1
    assert not Location.objects.exists()
    partner.refresh_from_db()
    assert "fetching DE*SIM*GHOST1" in partner.last_error and "2003" in partner.last_error


def test_a_partner_gets_a_bounded_number_of_fetches_a_minute(client, partner, token, simulator, network, settings):
    settings.OCPI_FETCHES_PER_MINUTE = 2
    for location in network.locations[10:14]:  # four sites we lack, each named once
        url, body = status_patch(location)
        assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)

    assert Location.objects.count() == 2
    assert sum(location_gets(simulator, location["id"]) for location in network.locations[10:14]) == 2


def test_nothing_is_fetched_from_a_partner_without_a_locations_sender(client, partner, token, simulator, network):
    partner.replace_endpoints([e for e in partner.endpoints.values("identifier", "role", "url") if e["identifier"] != "locations"])
    url, body = status_patch(network.locations[4])

    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)

    assert location_gets(simulator, network.locations[4]["id"]) == 0
    assert fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id="X").startswith("skipped")


def test_a_broken_location_from_the_cpo_is_quarantined_with_its_reason_and_nothing_stored(client, partner, token, simulator, network):
    network.locations[5]["coordinates"]["latitude"] = "95.000000"
    network.invalidate()
    url, body = status_patch(network.locations[5])

    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)

    assert not Location.objects.exists() and not EVSE.objects.exists()
    refused = QuarantinedObject.objects.get()
    assert refused.object_id == network.locations[5]["id"] and "coordinates.latitude" in refused.reason


@pytest.mark.parametrize(
    ("fault", "outcome", "error"),
    [
        ("no_data", "failed: the partner answered without the location", "without the location"),
        ("html", "failed:", "HTML"),
        ("500", "failed:", "500"),
    ],
)
def test_a_cpo_that_cannot_answer_is_recorded_on_the_partner_and_nothing_changes(partner, simulator, network, fault, outcome, error):
    simulator.faults["locations"] = fault

    said = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[6]["id"])

    assert said.startswith(outcome), said
    partner.refresh_from_db()
    assert error in partner.last_error
    assert not Location.objects.exists() and not QuarantinedObject.objects.exists()


@pytest.mark.parametrize("data", [[], "LOC1", 42])
def test_a_location_that_is_no_json_object_is_quarantined(partner, simulator, network, data, monkeypatch):
    from roaming.ocpi import client as ocpi_client

    real = ocpi_client._parse

    def answered_with(*args, **kwargs):  # fault injection: the Sender's data is not an object
        response = real(*args, **kwargs)
        return dataclasses.replace(response, data=data)

    monkeypatch.setattr(ocpi_client, "_parse", answered_with)

    said = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[6]["id"])

    assert said.startswith("quarantined"), said
    assert not Location.objects.exists()
    assert QuarantinedObject.objects.get().object_id == network.locations[6]["id"]


def test_a_location_answered_under_other_ids_than_asked_is_quarantined(partner, simulator, network):
    network.locations[6]["party_id"] = "ABC"  # a party this connection does not represent
    network.invalidate()

    outcome = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[6]["id"])

    assert outcome.startswith("quarantined")
    assert not Location.objects.exists()
    reason = QuarantinedObject.objects.get().reason
    assert f"asked for location DE*SIM*{network.locations[6]['id']}" in reason and "DE*ABC*" in reason


def test_a_location_another_connection_holds_is_left_to_it_and_quarantined(partner, simulator, network):
    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.services import network as network_service

    from .factories import PartnerFactory

    hub = PartnerFactory(name="Hub", role=("DE", "SIM"))  # the same CPO reached through a hub, first
    wanted = network.locations[6]
    network_service.store_locations(partner=hub, locations=[WireLocation.model_validate(wanted)])

    outcome = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=wanted["id"])

    assert outcome == "quarantined: held for another OCPI connection that also represents its party"
    assert Location.objects.get().partner_id == hub.pk
    assert QuarantinedObject.objects.get(partner=partner).object_id == wanted["id"]


def test_a_repaired_location_is_stored_and_its_repairs_kept_for_staff(partner, simulator, network):
    network.locations[8]["evses"][0]["status"] = "charging "  # case and whitespace: read as CHARGING
    network.invalidate()

    outcome = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[8]["id"])

    assert outcome.startswith("stored"), outcome
    assert EVSE.objects.get(uid=network.locations[8]["evses"][0]["uid"]).status == "CHARGING"
    repaired = RepairedObject.objects.get()
    assert repaired.object_id == network.locations[8]["id"] and repaired.raw["evses"][0]["status"] == "charging "


def test_a_fetch_does_not_replace_a_newer_version_pushed_meanwhile(client, partner, token, simulator, network):
    wanted = copy.deepcopy(network.locations[3])
    wanted["name"] = "Pushed after the CPO's Sender answered"
    wanted["last_updated"] = "2026-11-20T00:00:00Z"  # newer than the simulator's versions
    assert call(client, "PUT", f"{BASE}/DE/SIM/{wanted['id']}", token, body=wanted).status_code == 201

    outcome = fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=wanted["id"])

    assert outcome.startswith("unchanged"), outcome
    assert Location.objects.get().name == "Pushed after the CPO's Sender answered"


def test_a_broker_outage_does_not_break_the_push_answer_and_the_next_push_tries_again(client, partner, token, simulator, network, monkeypatch):
    monkeypatch.setattr(fetch_location, "delay", _broker_down)  # fault injection: the broker is down
    url, body = status_patch(network.locations[4])
    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)
    monkeypatch.undo()

    assert_refused(call(client, "PATCH", url, token, body=body), 404, 2003)  # queued this time

    assert Location.objects.filter(ocpi_id=network.locations[4]["id"]).exists()


def test_a_get_of_an_unknown_location_fetches_nothing(client, partner, token, simulator, network):
    # The CPO checking what we hold is not a sign that we are behind.
    assert_refused(call(client, "GET", f"{BASE}/DE/SIM/{network.locations[4]['id']}", token), 404, 2003)
    assert location_gets(simulator, network.locations[4]["id"]) == 0


# Staff: fetch a location again from the admin -----------------------------------------------------


def _staff(django_user_model, *permissions: str):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("ops", "ops@example.com", "pw-123456789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_location", *permissions]))
    return user


def _run_action(client, locations) -> str:
    response = client.post(
        "/admin/roaming/location/",
        {"action": "fetch_from_cpo", "_selected_action": [location.pk for location in locations]},
        follow=True,
    )
    assert response.status_code == 200
    return " | ".join(str(message) for message in response.context["messages"])


def test_staff_fetch_a_location_again_and_see_how_it_went(client, partner, simulator, network, django_user_model):
    wanted = network.locations[4]
    assert fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=wanted["id"]).startswith("stored")
    # The CPO's status changed and the push never reached us (a driver reports the charger busy).
    wanted["evses"][0]["status"] = "OUTOFORDER"
    wanted["evses"][0]["last_updated"] = wanted["last_updated"] = "2026-11-21T08:00:00Z"
    network.invalidate()
    client.force_login(_staff(django_user_model, "change_partner"))
    assert "fetch_from_cpo" in client.get("/admin/roaming/location/").content.decode()

    said = _run_action(client, Location.objects.all())

    assert f"Fetching DE*SIM*{wanted['id']} from the CPO" in said
    assert EVSE.objects.get(uid=wanted["evses"][0]["uid"]).status == "OUTOFORDER"  # the task ran (eagerly here)


def test_staff_find_why_a_fetch_failed_on_the_partners_page(client, partner, simulator, network, django_user_model):
    wanted = network.locations[4]
    fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=wanted["id"])
    simulator.faults["locations"] = "html"  # the CPO's back end answers with an error page
    client.force_login(_staff(django_user_model, "change_partner"))

    _run_action(client, Location.objects.all())

    page = client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert f"fetching DE*SIM*{wanted['id']}" in page and "HTML" in page


def test_staff_are_told_when_a_fetch_cannot_be_queued(client, partner, simulator, network, django_user_model, monkeypatch):
    fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[4]["id"])

    monkeypatch.setattr(fetch_location, "delay", _broker_down)  # fault injection: the broker is down
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, Location.objects.all())

    assert "could not be queued (Connection refused)" in said


def test_staff_who_may_not_operate_partners_cannot_make_us_call_one(client, partner, simulator, network, django_user_model):
    fetch.fetch_location(partner=partner, country_code="DE", party_id="SIM", location_id=network.locations[4]["id"])
    simulator.requests.clear()
    client.force_login(_staff(django_user_model))  # may look at locations, nothing more

    assert "fetch_from_cpo" not in client.get("/admin/roaming/location/").content.decode()  # not offered
    said = _run_action(client, Location.objects.all())  # and not run when posted anyway

    assert "stored" not in said
    assert simulator.requests == []


def test_staff_fetch_a_bounded_number_of_locations_at_a_time(client, partner, simulator, network, django_user_model):
    from roaming.admin.network import LocationAdmin
    from roaming.services.sync import sync_module

    sync_module(partner=partner, module="locations", full=True)
    simulator.requests.clear()
    client.force_login(_staff(django_user_model, "change_partner"))

    said = _run_action(client, Location.objects.order_by("pk")[: LocationAdmin.FETCH_AT_MOST + 1])

    assert f"Select at most {LocationAdmin.FETCH_AT_MOST} locations" in said
    assert simulator.requests == []


def test_a_fetch_under_a_party_the_partner_does_not_represent_is_never_sent(partner, simulator, network):
    outcome = fetch.fetch_location(partner=partner, country_code="NL", party_id="ABC", location_id=network.locations[4]["id"])

    assert outcome == "skipped: NL*ABC is not one of the partner's parties"
    assert location_gets(simulator, network.locations[4]["id"]) == 0 and not Location.objects.exists()
