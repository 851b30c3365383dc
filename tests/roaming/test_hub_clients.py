"""A 2.2.1 roaming hub (checklist §10, §2.1): its credentials name only its HUB role, and the CPOs
behind it come through HubClientInfo, which it PUTs to us and which we pull from it. Over real
HTTP: the CPO simulator acting as a hub, and our eMSP on the live server."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from roaming.models import HubClient, Location, Partner, QuarantinedObject
from roaming.services.credentials import register_with_partner
from roaming.services.sync import sync_module
from roaming.simulator.network import build_network
from roaming.simulator.server import CpoSimulator

BASE_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def client_info(country_code: str, party_id: str, *, role: str = "CPO", status: str = "CONNECTED", at: str = "2026-11-01T10:00:00Z"):
    return {"country_code": country_code, "party_id": party_id, "role": role, "status": status, "last_updated": at}


@pytest.fixture
def hub_clients() -> list[dict]:
    return [
        client_info("DE", "FST"),
        client_info("be", "slw", status="OFFLINE"),
        client_info("NL", "EMS", role="EMSP"),  # an eMSP behind the hub: no right to send objects under its ids
    ]


@pytest.fixture
def hub(emsp, hub_clients, settings):
    settings.OCPI_PAGE_LIMIT = 20
    network = build_network(locations=30, seed=3, country_code="DE", party_id="FST", base_time=BASE_TIME)
    simulator = CpoSimulator(name="Roaming Hub", country_code="NL", party_id="HUB", hub_clients=hub_clients, network=network)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def partner(hub) -> Partner:
    return register_with_partner(versions_url=hub.versions_url, token_a=hub.token_a)


def stored_clients(partner: Partner) -> list[tuple[str, str, str, str]]:
    return sorted(HubClient.objects.filter(partner=partner).values_list("country_code", "party_id", "role", "status"))


def test_registering_with_a_hub_reads_who_is_behind_it(partner, hub):
    assert [(r.role, r.country_code, r.party_id) for r in partner.roles.all()] == [("HUB", "NL", "HUB")]
    assert stored_clients(partner) == [("BE", "SLW", "CPO", "OFFLINE"), ("DE", "FST", "CPO", "CONNECTED"), ("NL", "EMS", "EMSP", "CONNECTED")]
    # The CPOs behind it (whether the hub reaches them now or not) and the hub itself; not the eMSP.
    assert partner.parties == ["BE*SLW", "DE*FST", "NL*HUB"]
    assert Partner.objects.get(pk=partner.pk).parties == partner.parties
    assert partner.may_act_for("de", "fst") and not partner.may_act_for("NL", "EMS")
    # A configuration module: no routing headers on it.
    assert [(to_cc, to_party) for path, to_cc, to_party in hub.routing if path.endswith("/hubclientinfo")] == [(None, None)]


def test_a_pull_through_a_hub_stores_its_cpos_objects_and_is_addressed_to_the_hub(partner, hub):
    run = sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 30 and run.rejected == 0
    assert Location.objects.filter(partner=partner, party_id="FST").count() == 30
    pages = [(to_cc, to_party) for path, to_cc, to_party in hub.routing if path.endswith("/locations")]
    assert len(pages) == 2  # 30 locations in pages of 20
    assert set(pages) == {("NL", "HUB")}  # GET-all via a hub: TO is the hub (checklist §2.1), not a CPO behind it


def test_a_location_behind_a_hub_naming_no_operator_is_not_said_to_be_run_by_the_hub(partner, hub):
    hub.network.locations[0].pop("operator")
    hub.network.invalidate()
    run = sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 30, list(QuarantinedObject.objects.values_list("reason", flat=True))
    assert Location.objects.get(ocpi_id=hub.network.locations[0]["id"]).operator_name == ""


@pytest.mark.parametrize("hub_clients", [[client_info("NL", "EMS", role="EMSP")]])
def test_a_cpo_the_hub_connects_later_is_accepted_from_the_next_pull(partner, hub):
    run = sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 0 and run.rejected == 30
    reasons = set(QuarantinedObject.objects.filter(partner=partner).values_list("reason", flat=True))
    assert reasons == {"belongs to DE*FST, a party this partner does not represent"}

    hub.hub_clients.append(client_info("DE", "FST", at="2026-11-02T08:00:00Z"))  # the hub connects the CPO
    run = sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 30 and run.rejected == 0
    assert Location.objects.filter(partner=partner).count() == 30


def test_a_hub_puts_client_info_and_reads_it_back(partner, hub):
    url = hub.emsp_endpoint("hubclientinfo")
    assert url is not None  # published in our version details, as a Receiver
    response = hub.push_client_info(client_info("fr", "new", at="2026-11-03T09:00:00Z"))
    assert response.status_code == 201 and response.json()["status_code"] == 1000
    assert partner.__class__.objects.get(pk=partner.pk).parties == ["BE*SLW", "DE*FST", "FR*NEW", "NL*HUB"]

    got = hub.call_emsp("GET", f"{url}/FR/NEW").json()
    assert got["status_code"] == 1000
    assert got["data"] == client_info("FR", "NEW", at="2026-11-03T09:00:00Z")

    # The party goes offline: updated, still a party of the hub's.
    response = hub.push_client_info(client_info("FR", "NEW", status="OFFLINE", at="2026-11-03T10:00:00Z"))
    assert response.status_code == 200
    assert HubClient.objects.get(partner=partner, country_code="FR").status == "OFFLINE"

    # An older ClientInfo is acknowledged and not applied.
    response = hub.push_client_info(client_info("FR", "NEW", status="CONNECTED", at="2026-11-03T09:30:00Z"))
    assert response.status_code == 200 and "not applied" in response.json()["status_message"]
    assert HubClient.objects.get(partner=partner, country_code="FR").status == "OFFLINE"

    missing = hub.call_emsp("GET", f"{url}/FR/XYZ")
    assert missing.status_code == 404 and missing.json()["status_code"] == 2000


def test_a_cpo_the_hub_puts_may_push_locations_and_an_emsp_it_puts_may_not(partner, hub):
    locations_url = hub.emsp_endpoint("locations")
    location = dict(hub.network.locations[0], country_code="SE", party_id="ION", id="SE-ION-1")
    where = f"{locations_url}/SE/ION/SE-ION-1"

    hub.push_client_info(client_info("SE", "ION", role="EMSP"))
    refused = hub.call_emsp("PUT", where, location)
    assert refused.status_code == 404 and refused.json()["status_code"] == 2000
    assert not Location.objects.filter(ocpi_id="SE-ION-1").exists()

    hub.push_client_info(client_info("SE", "ION", role="CPO", at="2026-11-01T11:00:00Z"))
    accepted = hub.call_emsp("PUT", where, location)
    assert accepted.status_code == 201, accepted.text
    assert Location.objects.get(ocpi_id="SE-ION-1").partner_id == partner.pk


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (client_info("DE", "XYZ"), "country_code"),  # the URL says NL*XYZ
        (client_info("NL", "XYZ", status="ONLINE"), "status"),
        (client_info("NL", "XYZ", role="OPERATOR"), "role"),
        ({k: v for k, v in client_info("NL", "XYZ").items() if k != "last_updated"}, "last_updated"),
        (client_info("NL", "XYZ", at="yesterday"), "last_updated"),
    ],
)
def test_a_bad_client_info_gets_2001_naming_the_field_and_nothing_is_kept(partner, hub, body, expected):
    response = hub.call_emsp("PUT", f"{hub.emsp_endpoint('hubclientinfo')}/NL/XYZ", body)
    assert response.status_code in (200, 400)
    envelope = response.json()
    assert envelope["status_code"] == 2001 and expected in envelope["status_message"]
    assert not HubClient.objects.filter(party_id="XYZ").exists()


def test_only_a_hub_may_tell_us_about_clients(emsp, simulator):
    cpo = register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    response = simulator.call_emsp("PUT", f"{simulator.emsp_endpoint('hubclientinfo')}/FR/ABC", client_info("FR", "ABC"))
    assert response.status_code == 403 and response.json()["status_code"] == 2000
    assert not HubClient.objects.exists()
    assert not Partner.objects.get(pk=cpo.pk).may_act_for("FR", "ABC")


def test_a_hub_whose_client_list_fails_is_still_pulled_with_the_parties_we_know(partner, hub):
    hub.faults["hubclientinfo"] = "500"
    run = sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 30
    partner.refresh_from_db()
    assert "HubClientInfo" in partner.last_error
    assert partner.parties == ["BE*SLW", "DE*FST", "NL*HUB"]


@pytest.mark.parametrize("hub_clients", [[client_info("DE", "FST"), {"country_code": "DE", "party_id": "TOOLONG", "role": "CPO"}]])
def test_an_unreadable_client_info_in_the_hubs_list_is_quarantined_with_its_reason(partner):
    assert partner.parties == ["DE*FST", "NL*HUB"]
    entry = QuarantinedObject.objects.get(partner=partner, module="hubclientinfo")
    assert entry.object_id == "DE*TOOLONG"
    assert "party_id" in entry.reason and "status" in entry.reason and "last_updated" in entry.reason


def test_the_hub_client_info_base_url_explains_the_address(partner, hub):
    response = hub.call_emsp("GET", hub.emsp_endpoint("hubclientinfo"))
    assert response.status_code == 404
    assert "/hubclientinfo/{country_code}/{party_id}" in response.json()["status_message"]
    assert isinstance(response, httpx.Response)


def test_staff_see_the_parties_behind_a_hub_on_its_page(partner, simulator, emsp, admin_client):
    page = admin_client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "Parties behind this hub" in page
    assert "SLW" in page and "Offline (the hub cannot reach it now)" in page and "EMSP" in page

    cpo = register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    assert "Parties behind this hub" not in admin_client.get(f"/admin/roaming/partner/{cpo.pk}/change/").content.decode()
