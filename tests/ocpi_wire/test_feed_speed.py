"""A national-scale pull must stay cheap: a page of 1,000 locations × 3 EVSEs well under 1 s.

Measured on the development machine: ~60–75 ms for a clean page (1,000 locations, 3,000 EVSEs,
6,000 connectors, 2.1 MB), ~130–150 ms when every object needs the repair pass; 50,000 locations in
~3 s. The check of valid objects for kW powers and unknown city/voltage/amperage costs ~0.6 ms
per clean page. The bound below is loose so that a slow CI machine does not flake, yet a design that walks
every object in Python or re-parses per field fails it.
"""

from __future__ import annotations

import copy
import json
import time

from roaming.ocpi.v221.feeds import decode_page

from .paths import example


def build_page(count: int, *, deviating: bool = False, unknowns: bool = False) -> bytes:
    template = example("location_example.json")
    evse = template["evses"][0]
    locations = []
    for i in range(count):
        location = copy.deepcopy(template)
        location["id"] = f"LOC{i}"
        location["evses"] = [dict(copy.deepcopy(evse), uid=f"{i}-{j}") for j in range(3)]
        if deviating:
            location["coordinates"] = {"latitude": 51.0475991234, "longitude": 3.7299}
            location["evses"][0]["status"] = "available"
            del location["evses"][1]["connectors"][0]["last_updated"]
        if unknowns:  # shaped like itcharge: valid as sent, yet every object takes the repair pass
            del location["city"]
            for item in location["evses"]:
                for connector in item["connectors"]:
                    del connector["max_voltage"]
                    connector.update(max_amperage=None, max_electric_power=22)
        locations.append(location)
    return json.dumps({"data": locations, "status_code": 1000, "timestamp": "2024-01-01T00:00:00Z"}).encode()


def fastest_decode(body: bytes, runs: int = 5) -> float:
    """The best of `runs` decodes, in this process's CPU time: a loaded CI machine's waits for a
    core are not the decoder's (wall time once failed a bound 6 times what a quiet machine takes)."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        result = decode_page(body, kind="locations")
        best = min(best, time.process_time() - started)
        assert len(result.decoded) == 1000 and not result.rejects
    return best


def test_it_decodes_a_clean_page_of_1000_locations_well_under_a_second():
    assert fastest_decode(build_page(1000)) < 0.5


def test_it_decodes_a_page_where_every_location_needs_repair_under_a_second():
    assert fastest_decode(build_page(1000, deviating=True)) < 1.0


def test_it_decodes_a_page_without_cities_voltages_and_with_kilowatts_under_a_second():
    assert fastest_decode(build_page(1000, unknowns=True)) < 1.0
