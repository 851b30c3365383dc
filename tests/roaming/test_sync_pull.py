"""Pulling Locations and Tariffs from the simulator: pages, increments, resumption, failures."""

from __future__ import annotations

import copy
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection

from roaming.models import (
    EVSE,
    Connector,
    Location,
    Partner,
    QuarantinedObject,
    RepairedObject,
    SyncRun,
    Tariff,
    TariffVersion,
)
from roaming.ocpi.v221 import locations as wire
from roaming.ocpi.v221 import tariffs as wire_tariffs
from roaming.services import push, sync
from roaming.services.network import evse_digest as network_digest
from roaming.services.push import pushed_location

pytestmark = pytest.mark.django_db(transaction=True)

# `network` and `partner`: see conftest.py.


def _location_requests(simulator) -> list[str]:
    return [path for method, path in simulator.requests if "/locations" in path]


def test_a_full_pull_stores_every_location_page_by_page(partner, simulator, network):
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.state == SyncRun.State.SUCCEEDED and run.mode == SyncRun.Mode.FULL
    assert run.pages == 5 and run.objects_stored == 120 and run.rejected == 0
    assert run.total_reported == 120
    assert Location.objects.count() == 120
    assert EVSE.objects.count() == sum(len(loc["evses"]) for loc in network.locations)
    assert all("date_from" not in path for path in _location_requests(simulator))
    # Summaries match what the CPO published.
    for raw in network.locations[:20]:
        location = Location.objects.get(ocpi_id=raw["id"])
        active = [e for e in raw["evses"] if e["status"] != "REMOVED"]
        assert location.evse_count == len(active)
        assert location.available_evse_count == sum(e["status"] == "AVAILABLE" for e in active)
        assert location.is_visible == (raw["publish"] and bool(active))


def test_a_pulled_location_reads_back_as_the_cpo_sent_it_in_order(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = max(network.locations, key=lambda loc: sum(len(e["connectors"]) for e in loc["evses"]))
    assert sum(len(e["connectors"]) for e in sent["evses"]) >= 3, "a location with several connectors"
    location = Location.objects.get(ocpi_id=sent["id"])
    # raw keeps what was received, one level per row: the location without its EVSEs, each
    # EVSE without its connectors (which are columns).
    assert location.raw == {k: v for k, v in sent.items() if k != "evses"}
    for evse in sent["evses"]:
        held = location.evses.get(uid=evse["uid"])
        assert held.raw == {k: v for k, v in evse.items() if k != "connectors"}
    # The whole object, as a CPO reads it back: EVSEs and connectors in the order sent.
    document = pushed_location(partner=partner, country_code="DE", party_id="SIM", location_id=sent["id"])
    assert [e["uid"] for e in document["evses"]] == [e["uid"] for e in sent["evses"]]
    for got, evse in zip(document["evses"], sent["evses"], strict=True):
        assert [c["id"] for c in got["connectors"]] == [c["id"] for c in evse["connectors"]]
        assert [c["standard"] for c in got["connectors"]] == [c["standard"] for c in evse["connectors"]]


def test_a_changed_location_keeps_the_ids_of_what_stays_and_retires_what_it_left_out(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = next(
        loc
        for loc in network.locations
        if len(loc["evses"]) >= 2
        and len(loc["evses"][0]["connectors"]) >= 2
        and all(e["status"] != "REMOVED" for e in loc["evses"])
    )
    location = Location.objects.get(ocpi_id=sent["id"])
    first = location.evses.get(uid=sent["evses"][0]["uid"])
    connector_ids = list(first.connectors.order_by("id").values_list("id", flat=True))
    untouched = location.evses.get(uid=sent["evses"][1]["uid"]) if len(sent["evses"]) > 2 else None
    # The CPO drops the last EVSE and the first EVSE's last connector.
    dropped = sent["evses"].pop()
    sent["evses"][0]["connectors"].pop()
    later = "2026-11-20T10:00:00Z"
    sent["last_updated"] = sent["evses"][0]["last_updated"] = later
    network.invalidate()

    sync.sync_module(partner=partner, module="locations", full=True)

    assert EVSE.objects.get(location=location, uid=dropped["uid"]).status == "REMOVED"  # kept, retired
    assert list(first.connectors.order_by("id").values_list("id", flat=True)) == connector_ids[:-1]
    location.refresh_from_db()
    assert location.evse_count == len(sent["evses"])
    if untouched is not None:  # sent again unchanged: held as it was
        assert EVSE.objects.get(pk=untouched.pk).raw == untouched.raw


def test_an_evse_listed_again_as_it_was_comes_back_and_changed_connectors_are_rewritten(partner, network):
    """A held location re-sent: an EVSE whose row is as we hold it is skipped, but an EVSE
    retired in between (REMOVED by us, its raw and time unchanged) is written again, and so is a
    connector of which only one column changed."""
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = next(
        loc
        for loc in network.locations
        if len(loc["evses"]) >= 2 and all(e["status"] not in ("REMOVED", "UNKNOWN") for e in loc["evses"])
    )
    location = Location.objects.get(ocpi_id=sent["id"])
    returning = sent["evses"][-1]
    status = returning["status"]
    sent["evses"].pop()
    sent["last_updated"] = "2026-11-20T10:00:00Z"
    network.invalidate()
    sync.sync_module(partner=partner, module="locations", full=True)
    assert location.evses.get(uid=returning["uid"]).status == "REMOVED"

    sent["evses"].append(returning)  # listed again exactly as first sent
    first_connector = sent["evses"][0]["connectors"][0]
    first_connector["max_amperage"] += 1  # one column of one connector, its last_updated kept
    sent["last_updated"] = "2026-11-20T11:00:00Z"
    network.invalidate()
    sync.sync_module(partner=partner, module="locations", full=True)

    assert location.evses.get(uid=returning["uid"]).status == status
    connector = location.evses.get(uid=sent["evses"][0]["uid"]).connectors.get(ocpi_id=first_connector["id"])
    assert connector.max_amperage == first_connector["max_amperage"]
    location.refresh_from_db()
    assert location.evse_count == len(sent["evses"])


def test_a_location_whose_evses_are_all_removed_is_not_visible(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    gone = [loc["id"] for loc in network.locations if loc["evses"] and all(e["status"] == "REMOVED" for e in loc["evses"])]
    assert gone, "the simulated network has locations whose EVSEs are all REMOVED"
    assert not Location.objects.filter(ocpi_id__in=gone, is_visible=True).exists()


def test_tariffs_are_pulled_with_their_history(partner, network):
    run = sync.sync_module(partner=partner, module="tariffs", full=True)
    assert run.objects_stored == len(network.tariffs)
    assert Tariff.objects.count() == len(network.tariffs)
    assert all(t.versions.count() == 1 for t in Tariff.objects.all())


def test_each_pulled_tariff_version_keeps_the_tariff_as_the_cpo_sent_it(partner, network):
    plain, repaired = network.tariffs[0], network.tariffs[1]
    plain["x_vendor_code"] = "T-1"  # a field of the CPO's own
    repaired["currency"] = repaired["currency"].lower()  # repaired on the way in
    network.invalidate()
    sync.sync_module(partner=partner, module="tariffs", full=True)

    version = TariffVersion.objects.get(tariff__ocpi_id=plain["id"])
    assert version.received == plain and "x_vendor_code" not in version.raw
    version = TariffVersion.objects.get(tariff__ocpi_id=repaired["id"])
    assert version.received == repaired
    assert version.raw["currency"] == repaired["currency"].upper() != repaired["currency"]


def test_an_incremental_pull_asks_from_the_last_successful_start_and_stores_only_changes(partner, simulator, network):
    first = sync.sync_module(partner=partner, module="locations", full=True)
    changes = network.change_statuses(0.05, at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), rng_seed=3)
    assert changes
    simulator.requests.clear()
    second = sync.sync_module(partner=partner, module="locations")
    assert second.mode == SyncRun.Mode.INCREMENTAL
    assert second.date_from == first.started_at - sync.INCREMENTAL_OVERLAP
    assert all("date_from=" in path for path in _location_requests(simulator))
    changed_locations = {c.location_id for c in changes}
    assert second.objects_stored == len(changed_locations)
    for change in changes:
        assert EVSE.objects.get(location__ocpi_id=change.location_id, uid=change.evse_uid).status == change.status


def test_a_full_pull_that_is_run_again_rewrites_nothing(partner):
    sync.sync_module(partner=partner, module="locations", full=True)
    before = dict(Location.objects.values_list("key", "received_at"))
    sync.sync_module(partner=partner, module="locations", full=True)
    assert dict(Location.objects.values_list("key", "received_at")) == before


def _shown() -> set[str]:
    return set(Location.objects.filter(is_visible=True).values_list("ocpi_id", flat=True))


def test_a_location_missing_from_a_full_pull_stays_but_is_no_longer_shown_until_listed_again(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    shown, before = _shown(), dict(Location.objects.values_list("ocpi_id", "received_at"))
    gone = network.locations.pop()  # the CPO's whole list no longer has it: no longer valid (checklist §2.3)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert Location.objects.count() == 120  # OCPI never deletes: we keep it, sessions may point at it
    assert run.delisted == 1 and run.note == ""
    hidden = Location.objects.get(ocpi_id=gone["id"])
    assert hidden.delisted_at is not None and hidden.delisted_at >= run.started_at and not hidden.is_visible
    assert _shown() == shown - {gone["id"]}
    assert dict(Location.objects.exclude(ocpi_id=gone["id"]).values_list("ocpi_id", "received_at")) == {
        key: value for key, value in before.items() if key != gone["id"]
    }  # the others were not rewritten

    network.locations.append(gone)  # back in the list, unchanged (same last_updated)
    again = sync.sync_module(partner=partner, module="locations", full=True)
    assert again.delisted == 0 and _shown() == shown
    assert Location.objects.get(ocpi_id=gone["id"]).delisted_at is None


def test_what_the_cpo_pushes_while_a_full_pull_runs_is_newer_than_its_list_and_is_not_set_aside(partner, network):
    # A site opened during the nightly pull: the pages already fetched could not list it, and
    # the CPO's PUT told us of it after the list began. It was hidden until the next night.
    sync.sync_module(partner=partner, module="locations", full=True)
    sync.sync_module(partner=partner, module="tariffs", full=True)
    opened = {**copy.deepcopy(network.locations[0]), "id": "LOC-OPENED", "last_updated": dt.datetime.now(dt.UTC).isoformat()}
    tariff = {**copy.deepcopy(network.tariffs[0]), "id": "TARIFF-NEW", "last_updated": dt.datetime.now(dt.UTC).isoformat()}

    def a_push_arrives(progress: sync.PageProgress) -> None:
        if progress.run.pages == 1:
            if progress.run.module == "locations":
                push.put_location(partner=partner, location=wire.Location.model_validate(opened))
            else:
                push.put_tariff(partner=partner, tariff=wire_tariffs.Tariff.model_validate(tariff))

    run = sync.sync_module(partner=partner, module="locations", full=True, on_page=a_push_arrives)
    assert run.delisted == 0
    assert "LOC-OPENED" in _shown() and Location.objects.get(ocpi_id="LOC-OPENED").delisted_at is None
    run = sync.sync_module(partner=partner, module="tariffs", full=True, on_page=a_push_arrives)
    assert run.delisted == 0 and Tariff.objects.get(ocpi_id="TARIFF-NEW").deleted_at is None

    # The next full pull that still lacks them: they are gone from the CPO's list after all.
    assert sync.sync_module(partner=partner, module="locations", full=True).delisted == 1
    assert "LOC-OPENED" not in _shown()
    assert sync.sync_module(partner=partner, module="tariffs", full=True).delisted == 1


def test_a_tariff_put_again_after_its_delete_while_a_full_pull_runs_is_not_withdrawn_by_that_pull(partner, network):
    sync.sync_module(partner=partner, module="tariffs", full=True)
    body = network.tariffs.pop()  # the list this pull reads no longer has it
    push.delete_pushed_tariff(partner=partner, country_code=body["country_code"], party_id=body["party_id"], tariff_id=body["id"])

    def put_back(progress: sync.PageProgress) -> None:  # the same version: the CPO wants it back
        if progress.run.pages == 1:
            assert push.put_tariff(partner=partner, tariff=wire_tariffs.Tariff.model_validate(body)) == push.Outcome.CREATED

    run = sync.sync_module(partner=partner, module="tariffs", full=True, on_page=put_back)
    assert run.delisted == 0 and Tariff.objects.get(ocpi_id=body["id"]).deleted_at is None


def test_staff_see_what_the_cpos_list_no_longer_has_and_a_list_taken_for_cut_short(partner, network, admin_client):
    sync.sync_module(partner=partner, module="locations", full=True)
    gone = network.locations.pop()
    sync.sync_module(partner=partner, module="locations", full=True)
    listing = admin_client.get("/admin/roaming/location/?listed=no").content.decode()
    hidden = Location.objects.get(ocpi_id=gone["id"])
    assert f"/admin/roaming/location/{hidden.pk}/change/" in listing
    assert listing.count("/change/") == 1  # only it
    runs = admin_client.get("/admin/roaming/syncrun/").content.decode()
    assert "1 no longer listed" in runs

    del network.locations[-40:]
    sync.sync_module(partner=partner, module="locations", full=True)
    runs = admin_client.get("/admin/roaming/syncrun/").content.decode()
    assert "The full list lacked 40 of the 119 locations" in runs


def test_a_tariff_missing_from_a_full_pull_stops_applying_and_applies_again_when_listed(partner, simulator, network):
    sync.sync_module(partner=partner, module="tariffs", full=True)
    gone = network.tariffs.pop()  # checklist §5.1: replace the known list with the received one
    run = sync.sync_module(partner=partner, module="tariffs", full=True)
    assert run.delisted == 1
    tariff = Tariff.objects.get(ocpi_id=gone["id"])
    assert tariff.deleted_at is not None and tariff.versions.exists()  # kept, with its history
    assert Tariff.objects.filter(deleted_at__isnull=True).count() == len(network.tariffs)

    withdrawn_at = tariff.deleted_at
    assert tariff.version_at(withdrawn_at) is None and tariff.version_at(withdrawn_at - dt.timedelta(seconds=1)) is not None

    network.tariffs.append(gone)
    assert sync.sync_module(partner=partner, module="tariffs", full=True).delisted == 0
    tariff = Tariff.objects.get(ocpi_id=gone["id"])
    assert tariff.deleted_at is None and tariff.version_at(dt.datetime.now(dt.UTC)) is not None
    assert tariff.withdrawals.get().restored_at is not None

    # A tariff the CPO DELETEd but its whole list still has, unchanged: the list is the newer word.
    url = f"{simulator.emsp_endpoint('tariffs')}/{gone['country_code']}/{gone['party_id']}/{gone['id']}"
    assert simulator.call_emsp("DELETE", url).status_code == 200
    assert Tariff.objects.get(ocpi_id=gone["id"]).deleted_at is not None
    sync.sync_module(partner=partner, module="tariffs", full=True)
    assert Tariff.objects.get(ocpi_id=gone["id"]).deleted_at is None


def test_an_incremental_pull_hides_nothing_and_lists_again_what_it_sends(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    shown = _shown()
    gone = network.locations.pop()
    sync.sync_module(partner=partner, module="locations", full=True)
    network.locations.pop()  # an increment is filtered by date: what it lacks says nothing
    network.locations.append(gone)
    gone["last_updated"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # changed since: in the increment
    network.invalidate()
    run = sync.sync_module(partner=partner, module="locations")
    assert run.mode == SyncRun.Mode.INCREMENTAL and run.delisted == 0 and run.objects_stored == 1
    assert _shown() == shown


def test_a_full_list_lacking_a_fifth_of_the_network_is_taken_for_a_list_cut_short(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    shown = _shown()
    del network.locations[-30:]  # 30 of 120: more than OCPI_DELIST_MAX_SHARE (20%)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.state == SyncRun.State.SUCCEEDED and run.delisted == 0
    assert "lacked 30 of the 120 locations" in run.note and "none was set aside" in run.note
    assert _shown() == shown and not Location.objects.filter(delisted_at__isnull=False).exists()


def test_a_failure_setting_aside_what_the_list_lacks_does_not_fail_the_stored_pull(partner, network, monkeypatch):
    sync.sync_module(partner=partner, module="locations", full=True)
    network.locations.pop()

    def broken(**_):  # a fault injected: the database refuses the last step
        raise DatabaseError("disk full")

    monkeypatch.setattr(sync.network, "apply_full_list", broken)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.state == SyncRun.State.SUCCEEDED and run.delisted == 0
    assert "was not set aside (DatabaseError: disk full)" in run.note
    assert not Location.objects.filter(delisted_at__isnull=False).exists()


def test_the_new_truth_can_be_turned_off(partner, network, settings):
    settings.OCPI_DELIST_MAX_SHARE = 0
    sync.sync_module(partner=partner, module="locations", full=True)
    shown = _shown()
    network.locations.pop()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.delisted == 0 and run.note == "" and _shown() == shown


def test_a_resumed_full_pull_hides_nothing(partner, simulator, network, settings):
    sync.sync_module(partner=partner, module="locations", full=True)
    shown = _shown()
    settings.OCPI_HTTP_RETRIES = 0
    network.locations.pop(0)  # on the first page: a resumed run never sees that page again
    simulator.faults["locations"] = "500_after_first_page"
    with pytest.raises(sync.SyncError):
        sync.sync_module(partner=partner, module="locations", full=True)
    del simulator.faults["locations"]
    sync.resume_failed(partner=partner, module="locations")
    resumed = sync.sync_module(partner=partner, module="locations", full=True)
    assert resumed.state == SyncRun.State.SUCCEEDED and resumed.delisted == 0
    assert _shown() == shown


def test_a_location_the_list_sends_broken_is_not_taken_for_gone(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    broken = network.locations[7]
    broken["coordinates"] = {"latitude": "91.000000", "longitude": "4.000000"}
    broken["last_updated"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    network.invalidate()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.rejected == 1 and run.delisted == 0
    assert Location.objects.get(ocpi_id=broken["id"]).is_visible  # as it was, quarantined copy aside


def test_a_change_pushed_to_a_delisted_location_does_not_show_it_but_a_put_of_it_does(partner, simulator, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    gone = network.locations.pop()
    sync.sync_module(partner=partner, module="locations", full=True)
    evse = next(e for e in gone["evses"] if e["status"] != "REMOVED")
    status = "CHARGING" if evse["status"] == "AVAILABLE" else "AVAILABLE"
    base = f"{simulator.emsp_endpoint('locations')}/{gone['country_code']}/{gone['party_id']}/{gone['id']}"
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    patched = simulator.call_emsp("PATCH", f"{base}/{evse['uid']}", {"status": status, "last_updated": later})
    assert patched.status_code == 200, patched.text
    held = Location.objects.get(ocpi_id=gone["id"])
    assert not held.is_visible and held.delisted_at is not None
    assert EVSE.objects.get(location=held, uid=evse["uid"]).status == status  # the change itself is kept

    put = simulator.call_emsp("PUT", base, dict(gone, last_updated=later))
    assert put.status_code == 200, put.text
    held.refresh_from_db()
    assert held.is_visible and held.delisted_at is None


def test_a_server_error_mid_run_fails_retryably_and_the_next_run_resumes_at_that_page(partner, simulator, settings):
    settings.OCPI_HTTP_RETRIES = 1
    simulator.faults["locations"] = "500_after_first_page"
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert error.value.permanent is False
    failed = SyncRun.objects.get()
    assert failed.state == SyncRun.State.FAILED and failed.pages == 1 and "offset=25" in failed.next_url
    assert Location.objects.count() == 25  # the first page is stored, not lost
    del simulator.faults["locations"]
    assert sync.resume_failed(partner=partner, module="locations") == failed
    simulator.requests.clear()
    resumed = sync.sync_module(partner=partner, module="locations", full=True)
    assert resumed.pk == failed.pk and resumed.state == SyncRun.State.SUCCEEDED
    assert resumed.pages == 5 and Location.objects.count() == 120
    assert "offset=25" in _location_requests(simulator)[0]


def test_a_page_the_database_refuses_for_a_moment_fails_the_run_retryably_and_it_resumes_at_that_page(partner, simulator, monkeypatch):
    # A deadlock PostgreSQL broke, a lock wait over its limit: it was "unexpected", the task was
    # not retried, and a full pull set nothing aside that night.
    from roaming.services import network as network_service

    write = network_service.write_locations
    calls = []

    def refused_on_the_second_page(prepared, **options):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("deadlock detected")  # the fault injected
        return write(prepared, **options)

    monkeypatch.setattr(network_service, "write_locations", refused_on_the_second_page)
    with pytest.raises(sync.SyncError, match=r"could not store page 2 \(OperationalError: deadlock detected\)") as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert error.value.permanent is False
    failed = SyncRun.objects.get()
    assert (failed.state, failed.pages, failed.error_permanent, Location.objects.count()) == (SyncRun.State.FAILED, 1, False, 25)

    assert sync.resume_failed(partner=partner, module="locations") == failed
    resumed = sync.sync_module(partner=partner, module="locations", full=True)
    assert (resumed.pk, resumed.state, resumed.pages, Location.objects.count()) == (failed.pk, SyncRun.State.SUCCEEDED, 5, 120)


def test_a_location_naming_no_operator_is_run_by_its_party_as_its_credentials_name_it(partner, network):
    # Staff renamed the connection; the CPO's own name comes from its credentials role (checklist §3.3).
    Partner.objects.filter(pk=partner.pk).update(name="Simulator (staging)")
    partner.refresh_from_db()
    anonymous = network.locations[0]["id"]
    network.locations[0].pop("operator")
    network.invalidate()
    sync.sync_module(partner=partner, module="locations", full=True)
    stored = dict(Location.objects.values_list("ocpi_id", "operator_name"))
    assert stored == {loc["id"]: loc["operator"]["name"] if "operator" in loc else "Simulated CPO" for loc in network.locations}
    assert stored[anonymous] == "Simulated CPO"


def test_a_page_answered_with_a_client_error_fails_the_run_permanently_whatever_its_envelope_says(partner, simulator):
    # HTTP 404 around a "success" envelope with an empty list: not "the CPO has nothing".
    simulator.faults["locations"] = "404_with_success_envelope"
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert error.value.permanent is True and "HTTP 404" in error.value.message
    failed = SyncRun.objects.get()
    assert failed.state == SyncRun.State.FAILED and failed.pages == 0 and "HTTP 404" in failed.error
    assert Location.objects.count() == 0


def test_a_partner_asking_for_an_hour_fails_the_run_retryably_and_says_when_to_come_back(partner, simulator):
    simulator.faults.update(locations="429_once", retry_after="3600")
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert error.value.permanent is False and error.value.retry_after == 3600  # the task's countdown
    failed = SyncRun.objects.get()
    assert failed.state == SyncRun.State.FAILED and "asked us to retry after 3600 s" in failed.error
    assert len(_location_requests(simulator)) == 1  # asked once, not hammered


def test_a_page_that_times_out_half_way_fails_retryably(partner, simulator, settings):
    settings.OCPI_HTTP_TIMEOUT = 0.3
    settings.OCPI_HTTP_RETRIES = 0
    simulator.faults.update(locations="hang_after_first_page", hang_seconds="3")
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert "timed out" in error.value.message and error.value.permanent is False
    assert Location.objects.count() == 25


@pytest.mark.parametrize(
    ("fault", "expected", "permanent"),
    [
        ({"locations": "html"}, "HTML", True),
        ({"locations": "truncated"}, "not valid JSON", False),
        ({"locations_paging": "foreign_link"}, "another host", True),
    ],
)
def test_broken_pages_fail_the_run_with_a_clear_error(partner, simulator, settings, fault, expected, permanent):
    settings.OCPI_HTTP_RETRIES = 0
    simulator.faults.update(fault)
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert expected in error.value.message
    assert error.value.permanent is permanent
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.FAILED and expected in run.error
    partner.refresh_from_db()
    assert expected in partner.last_error


def test_a_server_that_pages_forever_is_stopped(partner, simulator, settings):
    settings.OCPI_MAX_PAGES = 8
    simulator.faults["locations_paging"] = "forever"
    with pytest.raises(sync.SyncError, match="did not end after 8 pages"):
        sync.sync_module(partner=partner, module="locations", full=True)


def test_one_bad_object_is_quarantined_and_the_rest_of_the_page_is_stored(partner, network):
    network.locations[3]["evses"][0]["connectors"][0]["power_type"] = "AC_3_PHASES"
    network.locations[7]["coordinates"]["latitude"] = "123.456789"
    network.invalidate() if hasattr(network, "invalidate") else None
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.objects_stored == 118 and run.rejected == 2
    reasons = sorted(QuarantinedObject.objects.values_list("object_id", "reason"))
    assert [object_id for object_id, _ in reasons] == sorted([network.locations[3]["id"], network.locations[7]["id"]])
    assert any("power_type" in reason for _, reason in reasons)
    assert any("latitude" in reason for _, reason in reasons)


def test_an_object_refused_again_replaces_its_quarantine_record(partner, network):
    """A nightly full pull re-sends every object: staff see a bad one once, with its latest reason."""
    network.locations[3]["evses"][0]["connectors"][0]["power_type"] = "AC_3_PHASES"
    network.invalidate()
    sync.sync_module(partner=partner, module="locations", full=True)
    network.locations[3]["evses"][0]["connectors"][0]["power_type"] = "AC_4_PHASES"
    network.locations[3]["last_updated"] = "2026-11-20T10:00:00Z"
    network.invalidate()
    second = sync.sync_module(partner=partner, module="locations", full=True)
    assert second.rejected == 1
    refused = QuarantinedObject.objects.get()
    assert refused.object_id == network.locations[3]["id"] and refused.sync_run_id == second.pk
    assert "AC_4_PHASES" in refused.reason


def test_the_same_id_refused_under_two_parties_keeps_a_record_for_each(partner):
    # Ids are unique only within a party: a hub's two CPOs may both send a broken LOC3.
    from roaming.services import network as network_service

    def refuse(why: str, country_code: str, party_id: str) -> None:  # one page each, as a pull stores them
        raw = {"country_code": country_code, "party_id": party_id, "id": "LOC3"}
        network_service.quarantine(partner=partner, module="locations", rejects=[("LOC3", f"{why} ({country_code})", raw)])

    for why in ("first", "again"):
        refuse(why, "DE", "SIM")
        refuse(why, "nl", "xyz")
    assert sorted(QuarantinedObject.objects.values_list("reason", flat=True)) == ["again (DE)", "again (nl)"]


def test_the_same_id_repaired_under_two_parties_keeps_a_record_for_each(partner):
    from roaming.services import network as network_service

    def repaired(why: str, country_code: str, party_id: str) -> None:  # one page each, as a pull stores them
        raw = {"country_code": country_code, "party_id": party_id, "id": "LOC3"}
        network_service.record_repairs(partner=partner, module="locations", repairs=[("LOC3", [f"{why} ({country_code})"], raw)])

    for why in ("first", "again"):
        repaired(why, "DE", "SIM")
        repaired(why, "nl", "xyz")
    assert sorted(RepairedObject.objects.values_list("party", "repairs")) == [("DE*SIM", ["again (DE)"]), ("NL*XYZ", ["again (nl)"])]


def test_a_nul_character_quarantines_its_object_not_the_page(partner, network):
    # JSON may carry "\\u0000"; PostgreSQL can store it nowhere. One such object must not fail
    # the page's write on either database.
    network.locations[5]["evses"][0]["physical_reference"] = "A\x00"
    network.invalidate()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert (run.state, run.objects_stored, run.rejected) == (SyncRun.State.SUCCEEDED, 119, 1)
    refused = QuarantinedObject.objects.get()
    assert refused.object_id == network.locations[5]["id"]
    assert "evses[0].physical_reference: contains a NUL character" in refused.reason
    assert refused.raw["evses"][0]["physical_reference"] == "A\ufffd"  # kept for staff, made storable


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"next": value}
    return value


def test_values_our_encoder_cannot_write_quarantine_their_object_not_the_page(partner, network):
    """An integer beyond 64 bits (seen by the decoder's cheap look at the text) and nesting deeper
    than 254 levels (which only the failing write shows; each object is then tried alone), both
    in a partner's own fields, and a connector rating beyond an integer column: before, each
    failed the whole run, and every retry failed the same way."""
    network.locations[2]["evses"][0]["x_vendor_serial"] = 2**70
    network.locations[30]["x_vendor"] = _nested(300)  # on a page of its own (pages of 25)
    network.locations[6]["evses"][0]["connectors"][0]["max_voltage"] = 3_000_000_000
    network.invalidate()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert (run.state, run.objects_stored, run.rejected) == (SyncRun.State.SUCCEEDED, 117, 3)
    reasons = dict(QuarantinedObject.objects.values_list("object_id", "reason"))
    assert "evses[0].x_vendor_serial: an integer of 22 digits is beyond the range" in reasons[network.locations[2]["id"]]
    assert "x_vendor.next" in reasons[network.locations[30]["id"]]
    assert "nested more than 200 levels deep" in reasons[network.locations[30]["id"]]
    assert "evses[0].connectors[0].max_voltage" in reasons[network.locations[6]["id"]]
    refused = QuarantinedObject.objects.get(object_id=network.locations[2]["id"])
    assert refused.raw["evses"][0]["x_vendor_serial"] == str(2**70)  # kept for staff, made storable
    assert Location.objects.count() == 117


def _pull_tariffs_with_one_refused(partner, network, index: int) -> QuarantinedObject:
    """A full tariffs pull that stores every tariff but `index`: its quarantine record."""
    network.invalidate()
    run = sync.sync_module(partner=partner, module="tariffs", full=True)
    assert (run.state, run.rejected) == (SyncRun.State.SUCCEEDED, 1)
    assert Tariff.objects.count() == len(network.tariffs) - 1
    refused = QuarantinedObject.objects.get()
    assert refused.object_id == network.tariffs[index]["id"]
    return refused


def test_a_tariff_with_a_number_too_large_is_quarantined_not_the_page(partner, network):
    network.tariffs[0]["elements"][0]["price_components"][0]["price"] = "1e5000"
    refused = _pull_tariffs_with_one_refused(partner, network, 0)
    assert "price" in refused.reason and "too large" in refused.reason


def test_a_tariff_in_no_iso_currency_is_quarantined_with_its_reason_and_the_rest_stored(partner, network):
    # Right shape, no currency: before, stored and then never priced; now refused where it arrives.
    network.tariffs[1]["currency"] = "XYZ"
    refused = _pull_tariffs_with_one_refused(partner, network, 1)
    assert refused.reason == "currency: 'XYZ' is not an ISO 4217 code of a currency"


def test_a_tariff_our_engine_could_not_price_is_quarantined_with_the_rule_it_breaks(partner, network):
    # Before, stored and shown as "cannot be priced" to staff, and no price at its chargers.
    network.tariffs[2]["min_price"] = {"excl_vat": 10, "incl_vat": 12}
    network.tariffs[2]["max_price"] = {"excl_vat": 5, "incl_vat": 6}
    refused = _pull_tariffs_with_one_refused(partner, network, 2)
    assert refused.reason == "max_price.excl_vat: is below min_price.excl_vat"


def test_objects_of_a_party_the_partner_does_not_represent_are_refused(partner, network):
    network.locations[0]["party_id"] = "XXX"
    network.invalidate() if hasattr(network, "invalidate") else None
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.rejected == 1
    assert "does not represent" in QuarantinedObject.objects.get().reason
    assert not Location.objects.filter(party_id="XXX").exists()


def test_a_second_run_cannot_start_while_one_is_running(partner):
    SyncRun.objects.create(
        partner=partner, module="locations", mode="FULL", started_at=dt.datetime.now(dt.UTC), heartbeat_at=dt.datetime.now(dt.UTC)
    )
    with pytest.raises(sync.AlreadyRunning):
        sync.sync_module(partner=partner, module="locations", full=True)


def test_ocpi_sync_runs_in_the_foreground_and_reports(partner):
    out, err = io.StringIO(), io.StringIO()
    call_command("ocpi_sync", "--partner", str(partner.pk), "--full", stdout=out, stderr=err)
    assert "locations (full): 120 stored, 0 rejected, 5 pages" in out.getvalue()
    assert "tariffs (full):" in out.getvalue()
    assert "120/120" in err.getvalue()  # the progress bar reached the reported total
    # Redrawn in place (carriage returns), one line a bar: Django's error stream had ended every redraw with a newline.
    assert err.getvalue().count("\n") == 2 and err.getvalue().count("\r") > 2


def test_ocpi_sync_says_which_pull_failed(partner, simulator, settings):
    settings.OCPI_HTTP_RETRIES = 0
    simulator.faults["tariffs"] = "html"
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 pull"):
        call_command("ocpi_sync", "--partner", str(partner.pk), stdout=out, stderr=err)
    assert "tariffs: failed (permanent)" in err.getvalue()


def test_ocpi_sync_resumes_a_pull_that_failed_part_way_from_the_page_it_stopped_at(partner, simulator, settings):
    settings.OCPI_HTTP_RETRIES = 0
    simulator.faults["locations"] = "500_after_first_page"
    with pytest.raises(CommandError):
        call_command("ocpi_sync", "--partner", str(partner.pk), "--module", "locations", "--full", stdout=io.StringIO(), stderr=io.StringIO())
    failed = SyncRun.objects.get()
    assert failed.pages == 1 and "offset=25" in failed.next_url
    simulator.faults.clear()
    simulator.requests.clear()

    out = io.StringIO()
    call_command("ocpi_sync", "--partner", str(partner.pk), "--module", "locations", "--full", stdout=out, stderr=io.StringIO())

    assert "offset=25" in _location_requests(simulator)[0]  # what the failure message promised
    failed.refresh_from_db()
    assert (SyncRun.objects.count(), failed.state, failed.pages, Location.objects.count()) == (1, SyncRun.State.SUCCEEDED, 5, 120)


def test_a_failed_pull_is_not_resumed_when_another_worker_claimed_a_new_run_meanwhile(partner, simulator, settings):
    settings.OCPI_HTTP_RETRIES = 0
    simulator.faults["locations"] = "500_after_first_page"
    with pytest.raises(sync.SyncError):
        sync.sync_module(partner=partner, module="locations", full=True)
    failed = SyncRun.objects.get()
    # Between resume_failed's read and its write, another worker's pull started (as _claim makes it).
    running = SyncRun.objects.create(partner=partner, module="locations", mode=SyncRun.Mode.FULL, state=SyncRun.State.RUNNING,
                                     started_at=failed.started_at - dt.timedelta(seconds=1), heartbeat_at=failed.started_at)  # fmt: skip

    assert sync.resume_failed(partner=partner, module="locations") is None  # it was an IntegrityError
    failed.refresh_from_db()
    assert failed.state == SyncRun.State.FAILED and SyncRun.objects.get(state=SyncRun.State.RUNNING) == running


def test_ocpi_sync_names_the_partner_it_cannot_pull(partner):
    partner.status = Partner.Status.SUSPENDED
    partner.save(update_fields=["status"])
    with pytest.raises(CommandError, match=r"\(#\d+\) is not connected \(suspended by staff\): nothing to pull"):
        call_command("ocpi_sync", "--partner", str(partner.pk))
    with pytest.raises(CommandError, match="No partner with id 0"):
        call_command("ocpi_sync", "--partner", "0")  # not "every partner"
    out = io.StringIO()
    call_command("ocpi_sync", stdout=out)
    assert "No connected partner to pull from" in out.getvalue() and not SyncRun.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are a PostgreSQL matter (CI's second pass)")
def test_a_full_pull_leaves_postgresql_statistics_for_the_network_tables(partner):
    sync.sync_module(partner=partner, module="locations", full=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname = ANY(%s)",
            [["roaming_location", "roaming_evse", "roaming_connector"]],
        )
        analyzed = {name for (name,) in cursor.fetchall()}
    assert analyzed == {"roaming_location", "roaming_evse", "roaming_connector"}


def _second_connection(network, count: int, *, same_version: bool = False) -> tuple[Partner, list[str]]:
    """Another connection (a hub, say) that also declares DE*SIM and already holds `count` of its
    locations: an older version of each, or the very version the CPO serves."""
    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.services.network import store_locations

    hub = Partner.objects.create(name="Roaming hub", status=Partner.Status.CONNECTED, version="2.2.1")
    hub.replace_roles([dict(role="HUB", country_code="DE", party_id="SIM", business_name="Roaming hub")])
    held = network.locations[:count]
    older = [WireLocation.model_validate(loc if same_version else {**loc, "last_updated": "2020-01-01T00:00:00Z"}) for loc in held]
    store_locations(partner=hub, locations=older)
    return hub, [loc["id"] for loc in held]


def test_locations_another_connection_still_holds_are_refused_and_quarantined(partner, network):
    hub, held = _second_connection(network, 3)
    before = {loc.ocpi_id: (loc.partner_id, loc.last_updated, loc.raw) for loc in Location.objects.all()}
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert (run.state, run.objects_stored, run.rejected) == (SyncRun.State.SUCCEEDED, 117, 3)
    # The hub's copies are untouched: owner, version, content, EVSEs.
    assert {loc.ocpi_id: (loc.partner_id, loc.last_updated, loc.raw) for loc in Location.objects.filter(ocpi_id__in=held)} == before
    assert EVSE.objects.filter(location__partner=hub).count() == sum(len(loc["evses"]) for loc in network.locations[:3])
    assert Location.objects.filter(partner=partner).count() == 117
    refused = QuarantinedObject.objects.order_by("object_id")
    assert [q.object_id for q in refused] == sorted(held)
    assert all(f"held for another OCPI connection, Roaming hub (#{hub.pk})" in q.reason for q in refused)
    assert refused[0].raw["id"] == refused[0].object_id and refused[0].sync_run == run


@pytest.mark.parametrize("same_version", [False, True], ids=["hub-holds-older", "hub-holds-the-same-version"])
@pytest.mark.parametrize(
    "hand_over", ["the hub drops the party from its roles", "the hub is unregistered", "the hub is only suspended"]
)
def test_a_location_passes_to_the_pulling_connection_once_its_holder_no_longer_claims_the_party(
    partner, network, hand_over, same_version
):
    hub, held = _second_connection(network, 2, same_version=same_version)
    if hand_over == "the hub drops the party from its roles":
        hub.replace_roles([dict(role="HUB", country_code="NL", party_id="HUB", business_name="Roaming hub")])
    else:
        hub.status = Partner.Status.UNREGISTERED if "unregistered" in hand_over else Partner.Status.SUSPENDED
        hub.save()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    if "suspended" in hand_over:  # a pause by staff is not a hand-over
        assert (run.objects_stored, run.rejected) == (118, 2)
        assert set(Location.objects.filter(partner=hub).values_list("ocpi_id", flat=True)) == set(held)
        return
    assert (run.objects_stored, run.rejected) == (120, 0)
    assert not Location.objects.filter(partner=hub).exists()
    for raw in network.locations[:2]:
        location = Location.objects.get(ocpi_id=raw["id"])
        assert location.raw == {k: v for k, v in raw.items() if k != "evses"}
        assert sorted(location.evses.values_list("uid", flat=True)) == sorted(e["uid"] for e in raw["evses"])


@pytest.mark.parametrize("same_version", [False, True], ids=["hub-holds-older", "hub-holds-the-same-version"])
def test_tariffs_another_connection_still_holds_are_refused_until_it_lets_go(partner, network, same_version):
    from roaming.ocpi.v221.tariffs import Tariff as WireTariff
    from roaming.services.network import store_tariffs

    hub, _ = _second_connection(network, 0)
    first = network.tariffs[0]
    held = first if same_version else {**first, "last_updated": "2020-01-01T00:00:00Z"}
    store_tariffs(partner=hub, tariffs=[WireTariff.model_validate(held)])
    run = sync.sync_module(partner=partner, module="tariffs", full=True)
    assert (run.objects_stored, run.rejected) == (len(network.tariffs) - 1, 1)
    kept = Tariff.objects.get(ocpi_id=first["id"])
    assert kept.partner == hub and kept.versions.count() == 1
    assert "held for another OCPI connection, Roaming hub" in QuarantinedObject.objects.get().reason

    hub.status = Partner.Status.UNREGISTERED
    hub.save()
    sync.sync_module(partner=partner, module="tariffs", full=True)
    taken = Tariff.objects.get(ocpi_id=first["id"])
    assert taken.partner == partner
    assert taken.versions.count() == (1 if same_version else 2)  # the hub's older version stays in the history


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("deep_after_first_page", "nested too deeply"),
        ("long_number_after_first_page", "a number too long to read"),
    ],
)
def test_a_page_no_parser_can_read_fails_the_run_permanently_and_keeps_the_pages_before(partner, simulator, fault, expected):
    simulator.faults["locations"] = fault
    with pytest.raises(sync.SyncError) as error:
        sync.sync_module(partner=partner, module="locations", full=True)
    assert expected in error.value.message and error.value.permanent is True
    run = SyncRun.objects.get()
    assert (run.state, run.pages, run.error_permanent) == (SyncRun.State.FAILED, 1, True)
    assert expected in run.error and Location.objects.count() == 25
    partner.refresh_from_db()
    assert expected in partner.last_error


def test_a_page_whose_link_leaves_the_host_is_stored_but_never_becomes_the_place_to_resume(partner, simulator):
    simulator.faults["locations_paging"] = "foreign_link"
    with pytest.raises(sync.SyncError, match="another host"):
        sync.sync_module(partner=partner, module="locations", full=True)
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.FAILED and run.error_permanent and run.next_url == ""
    assert run.pages == 1 and Location.objects.count() == 25  # the page itself was good
    assert sync.resume_failed(partner=partner, module="locations") is None


def test_a_run_saved_with_a_resume_point_off_the_partners_host_starts_over_on_the_endpoint(partner, simulator):
    stale = dt.datetime.now(dt.UTC) - sync.STALE_AFTER * 2
    SyncRun.objects.create(
        partner=partner, module="locations", mode="FULL", started_at=stale, heartbeat_at=stale,
        next_url="http://evil.example.invalid/ocpi/2.2.1/locations?offset=50&limit=25",
    )  # fmt: skip
    simulator.requests.clear()
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.state == SyncRun.State.SUCCEEDED and Location.objects.count() == 120
    assert "offset" not in _location_requests(simulator)[0]  # from the first page of the endpoint


def test_a_relative_link_is_followed_on_the_same_host(partner, simulator):
    simulator.faults["locations_paging"] = "relative_link"
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert (run.state, run.pages, run.objects_stored) == (SyncRun.State.SUCCEEDED, 5, 120)


def test_an_unexpected_error_ends_the_run_failed_so_the_next_pull_can_start(partner, monkeypatch):
    from roaming.services import network as network_service

    def broken(prepared):  # injected fault: a bug in the write path
        raise RuntimeError("a bug")

    monkeypatch.setattr(network_service, "write_locations", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        sync.sync_module(partner=partner, module="locations", full=True)
    run = SyncRun.objects.get()
    assert (run.state, run.error_permanent) == (SyncRun.State.FAILED, False)
    assert run.error == "unexpected RuntimeError: a bug"
    monkeypatch.undo()
    assert sync.sync_module(partner=partner, module="locations", full=True).objects_stored == 120


# An EVSE a pull receives again exactly as it holds it is skipped (its digest matches): the
# increment's database work is then proportional to what changed. Every other write clears the
# digest, so what they changed is always rewritten by the next pull.


def _held_location_with_two_evses(network) -> dict:
    return next(
        loc
        for loc in network.locations
        if len(loc["evses"]) >= 2 and all(e["status"] not in ("REMOVED", "UNKNOWN") for e in loc["evses"])
    )


def _resend(network, sent: dict, at: str) -> None:
    sent["last_updated"] = at
    network.invalidate()


def test_an_evse_received_again_as_held_is_skipped_and_a_changed_one_is_rewritten(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = _held_location_with_two_evses(network)
    location = Location.objects.get(ocpi_id=sent["id"])
    same, changing = sent["evses"][0], sent["evses"][1]
    held_same = location.evses.get(uid=same["uid"])
    assert held_same.digest == network_digest(same)
    # A mark left with the digest in place, in a column the upsert compares: it survives only if
    # the row is skipped before the upsert.
    assert same["status"] != "BLOCKED"
    EVSE.objects.filter(pk=held_same.pk).update(status="BLOCKED")
    changing["status"] = "OUTOFORDER" if changing["status"] != "OUTOFORDER" else "AVAILABLE"
    changing["last_updated"] = "2026-11-20T10:00:00Z"
    _resend(network, sent, "2026-11-20T10:00:00Z")

    sync.sync_module(partner=partner, module="locations", full=True)

    assert EVSE.objects.get(pk=held_same.pk).status == "BLOCKED"
    rewritten = location.evses.get(uid=changing["uid"])
    assert rewritten.status == changing["status"]
    assert rewritten.digest == network_digest(changing)
    location.refresh_from_db()
    assert location.available_evse_count == sum(e["status"] == "AVAILABLE" for e in sent["evses"])


def test_an_evse_whose_own_fields_alone_changed_is_rewritten_without_its_connectors(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = _held_location_with_two_evses(network)
    changing = sent["evses"][1]
    held = Location.objects.get(ocpi_id=sent["id"]).evses.get(uid=changing["uid"])
    assert held.connectors_digest == network_digest(changing["connectors"])
    # A mark in a column the connector upsert compares, with both digests left in place: it
    # survives only if the connector rows are left out of the write.
    marked = held.connectors.first()
    Connector.objects.filter(pk=marked.pk).update(max_voltage=1)
    changing["status"] = "OUTOFORDER" if changing["status"] != "OUTOFORDER" else "AVAILABLE"
    changing["last_updated"] = "2026-11-20T10:00:00Z"
    _resend(network, sent, "2026-11-20T10:00:00Z")

    sync.sync_module(partner=partner, module="locations", full=True)

    rewritten = EVSE.objects.get(pk=held.pk)
    assert rewritten.status == changing["status"] and rewritten.digest == network_digest(changing)
    assert rewritten.connectors_digest == network_digest(changing["connectors"])
    assert Connector.objects.get(pk=marked.pk).max_voltage == 1


def test_a_changed_connector_of_a_re_sent_evse_is_written(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = _held_location_with_two_evses(network)
    changing = sent["evses"][0]
    connector = changing["connectors"][0]
    connector["max_amperage"] = 7  # a rating the simulator never sends
    connector["last_updated"] = changing["last_updated"] = "2026-11-20T10:00:00Z"
    _resend(network, sent, "2026-11-20T10:00:00Z")

    sync.sync_module(partner=partner, module="locations", full=True)

    held = Location.objects.get(ocpi_id=sent["id"]).evses.get(uid=changing["uid"])
    assert held.connectors.get(ocpi_id=connector["id"]).max_amperage == 7
    assert held.connectors_digest == network_digest(changing["connectors"])


def test_a_pushed_evse_change_is_undone_by_a_newer_pull_that_sends_the_evse_as_first_pulled(partner, network):
    """The push clears the digest: without that, the pull would take the EVSE for unchanged."""
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = _held_location_with_two_evses(network)
    evse = sent["evses"][0]
    pulled_status = evse["status"]
    pushed_status = "OUTOFORDER" if pulled_status != "OUTOFORDER" else "AVAILABLE"
    patch = wire.EvsePatch.model_validate({"status": pushed_status, "last_updated": "2026-11-20T10:00:00Z"})
    push.patch_evse(
        partner=partner,
        country_code="DE",
        party_id="SIM",
        location_id=sent["id"],
        evse_uid=evse["uid"],
        patch=patch,
    )
    held = EVSE.objects.get(location__ocpi_id=sent["id"], uid=evse["uid"])
    assert held.status == pushed_status and held.digest is None

    _resend(network, sent, "2026-11-20T11:00:00Z")  # the CPO's location, newer, with the EVSE as first sent
    sync.sync_module(partner=partner, module="locations", full=True)

    held = EVSE.objects.get(pk=held.pk)
    assert held.status == pulled_status and held.digest == network_digest(evse)


def test_a_pushed_connector_change_is_undone_by_a_newer_pull_that_sends_it_as_first_pulled(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    sent = _held_location_with_two_evses(network)
    evse, connector = sent["evses"][0], sent["evses"][0]["connectors"][0]
    # The connector's own last_updated, not newer than its EVSE's: the EVSE row is not bumped,
    # only its digest cleared.
    assert connector["last_updated"] <= evse["last_updated"]
    patch = wire.ConnectorPatch.model_validate(
        {"max_amperage": 999, "last_updated": connector["last_updated"]}
    )
    push.patch_connector(
        partner=partner, country_code="DE", party_id="SIM", location_id=sent["id"], evse_uid=evse["uid"],
        connector_id=connector["id"], patch=patch,
    )  # fmt: skip
    held = EVSE.objects.get(location__ocpi_id=sent["id"], uid=evse["uid"])
    assert held.connectors.get(ocpi_id=connector["id"]).max_amperage == 999 and held.digest is None

    _resend(network, sent, "2026-11-20T11:00:00Z")
    sync.sync_module(partner=partner, module="locations", full=True)

    assert held.connectors.get(ocpi_id=connector["id"]).max_amperage == connector.get("max_amperage")
    assert EVSE.objects.get(pk=held.pk).digest == network_digest(evse)


def test_any_other_write_of_an_evse_or_its_connectors_clears_its_digest(partner, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    evse = EVSE.objects.exclude(digest=None).filter(connectors__isnull=False).first()
    evse.floor_level = "2"
    evse.save(update_fields=["floor_level"])  # staff, or any code through the ORM
    saved = EVSE.objects.get(pk=evse.pk)
    assert saved.digest is None
    assert saved.connectors_digest is not None  # its connectors are still as the pull wrote them

    other = EVSE.objects.exclude(digest=None).filter(connectors__isnull=False).first()
    connector = other.connectors.first()
    connector.max_voltage = 1
    connector.save()
    assert EVSE.objects.filter(pk=other.pk, digest=None, connectors_digest=None).exists()

    third = EVSE.objects.exclude(digest=None).filter(connectors__isnull=False).first()
    third.connectors.first().delete()
    assert EVSE.objects.filter(pk=third.pk, digest=None, connectors_digest=None).exists()


def test_a_repaired_evse_gets_a_digest_of_what_it_was_read_as():
    """No JSON as received to fingerprint (the object was repaired): the fingerprint of the
    EVSE as read, stable from one pull to the next and different when it changes."""
    first = wire.Evse.model_validate(
        {"uid": "E1", "status": "AVAILABLE", "last_updated": "2026-11-20T10:00:00Z",
         "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                         "max_voltage": 230, "max_amperage": 16, "last_updated": "2026-11-20T10:00:00Z"}]}
    )  # fmt: skip
    again = wire.Evse.model_validate(first.model_dump(mode="json"))
    changed = wire.Evse.model_validate({**first.model_dump(mode="json"), "status": "CHARGING"})
    digest = network_digest(first.model_dump(mode="json"))
    assert digest == network_digest(again.model_dump(mode="json"))
    assert digest != network_digest(changed.model_dump(mode="json"))
    assert -(2**63) <= digest < 2**63


# A full pull asked for happens as a full pull; a partner's Retry-After holds back what is queued --


def test_a_full_pull_does_not_resume_a_stalled_increment_but_starts_the_whole_list(partner, simulator, network):
    sync.sync_module(partner=partner, module="locations", full=True)
    stale = dt.datetime.now(dt.UTC) - sync.STALE_AFTER * 2
    stalled = SyncRun.objects.create(
        partner=partner, module="locations", mode="INCREMENTAL", started_at=stale, heartbeat_at=stale,
        date_from=stale, next_url=f"{simulator.base_url}/ocpi/2.2.1/locations?offset=25&limit=25&date_from=x",
    )  # fmt: skip
    gone = network.locations.pop()  # only a whole list says so
    simulator.requests.clear()

    run = sync.sync_module(partner=partner, module="locations", full=True)

    assert (run.mode, run.state, run.delisted) == (SyncRun.Mode.FULL, SyncRun.State.SUCCEEDED, 1)
    assert "offset" not in _location_requests(simulator)[0] and "date_from" not in _location_requests(simulator)[0]
    stalled.refresh_from_db()
    assert stalled.state == SyncRun.State.FAILED and stalled.error.startswith("Stalled, then superseded by a full pull")
    assert not Location.objects.get(ocpi_id=gone["id"]).is_visible


@pytest.mark.parametrize(
    ("running", "full", "retried"),
    [("INCREMENTAL", True, True), ("FULL", True, False), ("INCREMENTAL", False, False), ("FULL", False, False)],
    ids=["nightly-full-meets-an-increment", "full-meets-a-full", "increment-meets-an-increment", "increment-meets-a-full"],
)
def test_only_a_full_pull_that_meets_a_running_increment_waits_for_it_instead_of_skipping_the_night(
    partner, running, full, retried
):
    from celery.exceptions import Retry

    from roaming.tasks import sync_partner_module

    now = dt.datetime.now(dt.UTC)
    SyncRun.objects.create(partner=partner, module="locations", mode=running, started_at=now, heartbeat_at=now)
    if retried:
        with pytest.raises(Retry):
            sync_partner_module(partner.pk, "locations", full)
    else:
        assert sync_partner_module(partner.pk, "locations", full) == "skipped: already running"
    assert SyncRun.objects.count() == 1


def test_a_partner_that_asked_us_to_wait_is_not_pulled_again_before_then(partner, simulator, client, django_user_model):
    import time_machine

    from roaming.tasks import sync_partner_module

    simulator.faults.update(locations="429_once", retry_after="3600")
    with pytest.raises(sync.SyncError):
        sync.sync_module(partner=partner, module="locations", full=True)
    partner.refresh_from_db()
    assert partner.pull_not_before is not None
    simulator.requests.clear()

    said = sync_partner_module(partner.pk, "locations", False)  # the 5-minute beat's next pull

    assert said.startswith("skipped: the partner asked us to wait until") and _location_requests(simulator) == []
    staff = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(staff)
    page = client.post(
        "/admin/roaming/partner/", {"action": "pull_now", "_selected_action": [partner.pk]}, follow=True
    ).content.decode()
    assert "asked us (Retry-After) to pull nothing before" in page
    assert "pull nothing before" in client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    with time_machine.travel(partner.pull_not_before + dt.timedelta(seconds=2)):
        assert sync_partner_module(partner.pk, "locations", False).startswith("ok: 120 stored")
