"""A speed smoke test: 50,000 locations, pages of 1,000. Figures are printed; bounds are loose."""

from __future__ import annotations

import datetime as dt
import json
import time

from roaming.simulator.network import build_network


def test_it_builds_fifty_thousand_locations_and_serves_pages_of_a_thousand_quickly(capsys):
    # CPU time of this process for the bounds (a loaded CI machine's waits for a core are not the
    # simulator's); the two page figures bounded are the best of three.
    started = time.process_time()
    network = build_network(locations=50_000, seed=1)
    built = time.process_time() - started
    summary = network.summary()

    started = time.perf_counter()
    page, total = network.locations_page(offset=20_000, limit=1000)
    json.dumps(page)
    dicts_and_dumps = time.perf_counter() - started

    network.locations_page_bytes(offset=30_000, limit=1000)
    cached_bytes = float("inf")
    for _ in range(3):
        started = time.process_time()
        raw, _ = network.locations_page_bytes(offset=30_000, limit=1000)
        cached_bytes = min(cached_bytes, time.process_time() - started)

    date_from = dt.datetime(2026, 10, 25, tzinfo=dt.UTC)
    started = time.perf_counter()
    network.locations_page(offset=0, limit=1000, date_from=date_from)
    first_filtered = time.perf_counter() - started
    next_filtered = float("inf")
    for _ in range(3):
        started = time.process_time()
        network.locations_page(offset=1000, limit=1000, date_from=date_from)
        next_filtered = min(next_filtered, time.process_time() - started)

    started = time.perf_counter()
    changes = network.change_statuses(0.01, at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), rng_seed=1)
    changed = time.perf_counter() - started

    with capsys.disabled():
        print(
            f"\n[simulator] 50,000 locations / {summary['evses']:,} EVSEs / {summary['connectors']:,} connectors / "
            f"{summary['tariffs']} tariffs built in {built:.2f} s; page of 1,000: dicts + json.dumps "
            f"{dicts_and_dumps * 1000:.1f} ms ({len(json.dumps(page)) / 1e6:.1f} MB), pre-serialised "
            f"{cached_bytes * 1000:.1f} ms; filtered first page {first_filtered * 1000:.1f} ms, next "
            f"{next_filtered * 1000:.2f} ms; {len(changes):,} status changes in {changed * 1000:.0f} ms"
        )
    assert total == 50_000 and len(raw) > 1_000_000
    assert 140_000 < summary["evses"] < 170_000
    assert built < 30  # target < 5 s on one core; loose for busy CI machines
    assert cached_bytes < 0.1 and next_filtered < 0.1
