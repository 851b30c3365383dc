"""A Sender's GET list over the network: date_from ≤ last_updated < date_to, offset/limit, totals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from roaming.simulator.network import Network, build_network

UTC = dt.UTC


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _expected(objects: list[dict[str, Any]], date_from: dt.datetime | None, date_to: dt.datetime | None) -> list[str]:
    return [
        obj["id"]
        for obj in objects
        if (date_from is None or _parse(obj["last_updated"]) >= date_from)
        and (date_to is None or _parse(obj["last_updated"]) < date_to)
    ]


def _crawl(network: Network, limit: int, **filters: Any) -> tuple[list[str], set[int]]:
    ids: list[str] = []
    totals = set()
    offset = 0
    while True:
        page, total = network.locations_page(offset=offset, limit=limit, **filters)
        totals.add(total)
        ids += [location["id"] for location in page]
        offset += len(page)
        if not page or offset >= total:
            return ids, totals


@pytest.fixture
def small() -> Network:
    return build_network(locations=600, seed=31)


def test_it_serves_every_location_in_creation_order_page_by_page(small):
    ids, totals = _crawl(small, limit=100)
    assert ids == [location["id"] for location in small.locations]
    assert totals == {600}


def test_it_filters_on_last_updated_with_date_from_inclusive_and_date_to_exclusive(small):
    stamps = sorted({_parse(location["last_updated"]) for location in small.locations})
    windows = [
        (stamps[100], None),
        (None, stamps[300]),
        (stamps[50], stamps[51]),  # exactly the objects stamped stamps[50]
        (stamps[200], stamps[450]),
        (stamps[-1], None),
        (stamps[-1] + dt.timedelta(seconds=1), None),
        (None, stamps[0]),
    ]
    for date_from, date_to in windows:
        expected = _expected(small.locations, date_from, date_to)
        ids, totals = _crawl(small, limit=37, date_from=date_from, date_to=date_to)
        assert ids == expected, (date_from, date_to)
        assert totals == {len(expected)}
    assert _crawl(small, limit=10, date_from=stamps[50], date_to=stamps[51])[0]


def test_consecutive_windows_cover_everything_once(small):
    edges = [dt.datetime(2026, 10, 1, tzinfo=UTC) + dt.timedelta(days=3 * n) for n in range(12)]
    seen: list[str] = []
    for date_from, date_to in zip(edges, edges[1:], strict=False):
        seen += _crawl(small, limit=50, date_from=date_from, date_to=date_to)[0]
    assert sorted(seen) == sorted(location["id"] for location in small.locations)


def test_a_bound_with_a_fraction_of_a_second_is_compared_exactly(small):
    location = small.locations[10]
    stamp = _parse(location["last_updated"])
    just_after = stamp + dt.timedelta(microseconds=500_000)
    ids = _crawl(small, limit=1000, date_from=just_after)[0]
    assert location["id"] not in ids
    assert location["id"] in _crawl(small, limit=1000, date_to=just_after)[0]
    assert location["id"] not in _crawl(small, limit=1000, date_to=stamp)[0]


def test_a_naive_bound_is_read_as_utc(small):
    aware = dt.datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    assert small.locations_page(offset=0, limit=1000, date_from=aware) == small.locations_page(
        offset=0, limit=1000, date_from=aware.replace(tzinfo=None)
    )


def test_offset_and_limit_outside_the_list(small):
    assert small.locations_page(offset=600, limit=10) == ([], 600)
    assert small.locations_page(offset=10_000, limit=10) == ([], 600)
    assert small.locations_page(offset=0, limit=0) == ([], 600)
    page, total = small.locations_page(offset=595, limit=100)
    assert [loc["id"] for loc in page] == [f"LOC{n:08d}" for n in range(595, 600)] and total == 600
    with pytest.raises(ValueError):
        small.locations_page(offset=-1, limit=10)
    with pytest.raises(ValueError):
        small.locations_page(offset=0, limit=-1)


def test_byte_pages_are_the_same_json_as_the_dict_pages(small):
    date_from = dt.datetime(2026, 10, 15, tzinfo=UTC)
    for kwargs in ({}, {"date_from": date_from}, {"date_to": date_from}):
        pages, total = small.locations_page(offset=20, limit=50, **kwargs)
        raw, raw_total = small.locations_page_bytes(offset=20, limit=50, **kwargs)
        assert json.loads(raw) == pages and raw_total == total
    assert small.locations_page_bytes(offset=600, limit=5) == (b"[]", 600)
    assert json.loads(small.location_bytes("LOC00000007") or b"") == small.locations[7]
    assert small.location_bytes("LOC99999999") is None


def test_tariffs_page_the_same_way(small):
    everything, total = small.tariffs_page(offset=0, limit=1000)
    assert everything == small.tariffs and total == len(small.tariffs)
    date_from = dt.datetime(2026, 10, 2, tzinfo=UTC)
    recent, recent_total = small.tariffs_page(offset=0, limit=1000, date_from=date_from)
    assert [t["id"] for t in recent] == _expected(small.tariffs, date_from, None)
    assert 0 < recent_total < total  # some tariffs changed recently, most long ago
    raw, raw_total = small.tariffs_page_bytes(offset=3, limit=4)
    assert json.loads(raw) == small.tariffs[3:7] and raw_total == total


def test_lookups_find_locations_evses_connectors_and_tariffs_case_insensitively(small):
    location = small.locations[42]
    evse = location["evses"][0]
    assert small.location("LOC00000042") is location
    assert small.location("loc00000042") is location
    assert small.evse("LOC00000042", evse["uid"]) is evse
    assert small.evse("LOC00000042", evse["uid"].lower()) is evse
    assert small.connector("LOC00000042", evse["uid"], "1") is evse["connectors"][0]
    tariff_id = evse["connectors"][0]["tariff_ids"][0]
    assert small.tariff(tariff_id.lower())["id"] == tariff_id
    assert small.location("LOC12345678") is None
    assert small.evse("LOC00000042", "nope") is None and small.evse("nope", evse["uid"]) is None
    assert small.connector("LOC00000042", evse["uid"], "9") is None
    assert small.tariff("nope") is None


def test_hand_edits_show_after_invalidate_and_list_edits_without(small):
    small.locations_page_bytes(offset=0, limit=10)  # fill the JSON cache
    small.locations[3]["name"] = "Edited by hand"
    small.invalidate()
    assert b"Edited by hand" in small.locations_page_bytes(offset=0, limit=10)[0]
    small.locations.pop()
    assert small.locations_page(offset=0, limit=1000)[1] == 599
    assert small.location("LOC00000599") is None
    small.locations = small.locations[:100]
    assert small.locations_page_bytes(offset=0, limit=1000)[1] == 100
