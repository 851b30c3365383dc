"""EVSE status changes for pushes and incremental pulls."""

from __future__ import annotations

import collections
import datetime as dt
import json

import pytest

from roaming.simulator.network import StatusChange, build_network

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LIVE = {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "RESERVED", "UNKNOWN"}


def _statuses(network) -> dict[tuple[str, str], str]:
    return {(loc["id"], evse["uid"]): evse["status"] for loc in network.locations for evse in loc["evses"]}


def test_it_changes_that_fraction_of_the_live_evses_and_nothing_else():
    network = build_network(locations=800, seed=4)
    before = _statuses(network)
    live = sum(status != "REMOVED" for status in before.values())
    changes = network.change_statuses(0.05, at=AT, rng_seed=1)
    after = _statuses(network)
    assert len(changes) == round(0.05 * live)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {(c.location_id, c.evse_uid) for c in changes}
    for change in changes:
        assert change.previous_status == before[(change.location_id, change.evse_uid)]
        assert change.status == after[(change.location_id, change.evse_uid)] != change.previous_status
        assert change.status in LIVE and change.previous_status in LIVE
    assert [(c.location_id, c.evse_uid) for c in changes] == sorted((c.location_id, c.evse_uid) for c in changes)


def test_removed_evses_are_never_touched_and_nothing_becomes_removed():
    network = build_network(locations=500, seed=8)
    removed = {key for key, status in _statuses(network).items() if status == "REMOVED"}
    assert removed
    changes = network.change_statuses(1.0, at=AT, rng_seed=2)
    after = _statuses(network)
    assert {key for key, status in after.items() if status == "REMOVED"} == removed
    assert len(changes) == len(after) - len(removed)  # fraction 1: every live EVSE


def test_transitions_are_plausible():
    network = build_network(locations=1500, seed=12)
    changes = network.change_statuses(0.5, at=AT, rng_seed=3)
    pairs = collections.Counter((c.previous_status, c.status) for c in changes)
    assert pairs[("AVAILABLE", "CHARGING")] > pairs[("AVAILABLE", "OUTOFORDER")]
    assert pairs[("CHARGING", "AVAILABLE")] > pairs[("CHARGING", "UNKNOWN")]
    assert all(new == "AVAILABLE" for old, new in pairs if old == "PLANNED")
    for change in changes:
        if change.status == "RESERVED":
            assert "RESERVABLE" in network.evse(change.location_id, change.evse_uid)["capabilities"]


def test_changed_evses_and_their_locations_carry_the_new_last_updated():
    network = build_network(locations=400, seed=5)
    changes = network.change_statuses(0.1, at=AT.replace(microsecond=987654), rng_seed=4)
    stamp = "2026-11-02T09:30:00Z"
    for change in changes:
        assert change.at == AT and change.last_updated == stamp
        assert network.evse(change.location_id, change.evse_uid)["last_updated"] == stamp
        assert network.location(change.location_id)["last_updated"] == stamp
    for location in network.locations:
        assert all(evse["last_updated"] <= location["last_updated"] for evse in location["evses"])


def test_a_pull_from_the_change_time_returns_exactly_the_changed_locations_with_the_new_status():
    network = build_network(locations=1000, seed=6)
    network.locations_page_bytes(offset=0, limit=1000)  # the JSON cache must not serve stale bytes
    changes = network.change_statuses(0.02, at=AT, rng_seed=5)
    changed = sorted({change.location_id for change in changes})
    page, total = network.locations_page(offset=0, limit=1000, date_from=AT)
    assert [location["id"] for location in page] == changed and total == len(changed)
    raw, raw_total = network.locations_page_bytes(offset=0, limit=1000, date_from=AT)
    decoded = {location["id"]: location for location in json.loads(raw)}
    assert raw_total == total
    for change in changes:
        evse = next(e for e in decoded[change.location_id]["evses"] if e["uid"] == change.evse_uid)
        assert evse["status"] == change.status
    # Before the change time the unchanged ones are still found, the changed ones no longer.
    before, before_total = network.locations_page(offset=0, limit=1000, date_to=AT)
    assert before_total == 1000 - len(changed)
    assert not {location["id"] for location in before} & set(changed)


def test_the_same_seed_gives_the_same_changes():
    first = build_network(locations=300, seed=9).change_statuses(0.1, at=AT, rng_seed=7)
    second = build_network(locations=300, seed=9).change_statuses(0.1, at=AT, rng_seed=7)
    other = build_network(locations=300, seed=9).change_statuses(0.1, at=AT, rng_seed=8)
    assert first == second and first != other


def test_small_and_edge_fractions():
    network = build_network(locations=100, seed=10)
    assert network.change_statuses(0.0, at=AT, rng_seed=1) == []
    assert len(network.change_statuses(0.000001, at=AT, rng_seed=1)) == 1
    for fraction in (-0.1, 1.5):
        with pytest.raises(ValueError):
            network.change_statuses(fraction, at=AT, rng_seed=1)


def test_a_change_reads_as_a_patch():
    change = StatusChange("LOC00000001", "E0000001-2", "CHARGING", dt.datetime(2026, 11, 2, 9, 30, 5, tzinfo=dt.UTC))
    assert change.path == "LOC00000001/E0000001-2"
    assert change.patch_body() == {"status": "CHARGING", "last_updated": "2026-11-02T09:30:05Z"}
    naive = build_network(locations=50, seed=1).change_statuses(0.1, at=dt.datetime(2026, 11, 2, 9, 30), rng_seed=1)
    assert naive[0].at == AT
