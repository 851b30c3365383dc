"""Every generated Location and Tariff follows the OCPI 2.2.1 rules and reads cleanly as the eMSP reads a feed."""

from __future__ import annotations

import json

from roaming.ocpi.v221.feeds import decode_page
from roaming.ocpi.v221.locations import Location
from roaming.ocpi.v221.tariffs import Tariff
from roaming.simulator.network import build_network

from .ocpi_rules import location_problems, tariff_problems


def test_it_follows_the_checklists_rules_for_locations_and_tariffs(network):
    problems = [f"{loc['id']}{problem}" for loc in network.locations for problem in location_problems(loc)]
    problems += [f"{t['id']}{problem}" for t in network.tariffs for problem in tariff_problems(t)]
    assert problems == []


def test_other_seeds_follow_the_rules_too():
    for seed in (1, 99, 123456):
        network = build_network(locations=800, seed=seed)
        assert [p for loc in network.locations for p in location_problems(loc)] == []
        assert [p for t in network.tariffs for p in tariff_problems(t)] == []


def test_the_rule_checker_catches_what_it_should(network):
    location = json.loads(json.dumps(network.locations[0]))
    location["country"] = "DE"
    location["coordinates"]["latitude"] = "52.52"
    location["evses"][0]["status"] = "available"
    location["evses"][0]["connectors"][0]["power_type"] = "AC_3_PHASES"
    del location["time_zone"]
    problems = location_problems(location)
    for field in (".country", ".coordinates.latitude", ".evses[0].status", ".evses[0].connectors[0].power_type",
                  ".time_zone"):
        assert any(problem.startswith(field + ":") for problem in problems), field
    tariff = json.loads(json.dumps(network.tariffs[0]))
    tariff["elements"][0]["price_components"][0]["type"] = "KWH"
    assert any("price_components[0].type" in problem for problem in tariff_problems(tariff))


def test_every_location_and_tariff_validates_with_the_wire_models(network):
    for location in network.locations:
        Location.model_validate(location)
    for tariff in network.tariffs:
        Tariff.model_validate(tariff)


def test_a_sender_page_decodes_without_rejects_or_repairs(network):
    raw, _ = network.locations_page_bytes(offset=0, limit=1000)
    result = decode_page(b'{"status_code":1000,"timestamp":"2026-11-01T00:00:00Z","data":' + raw + b"}", kind="locations")
    assert result.rejects == [] and result.repaired == [] and result.page_warnings == []
    assert len(result.objects) == 1000
    raw, total = network.tariffs_page_bytes(offset=0, limit=1000)
    result = decode_page(b'{"status_code":1000,"timestamp":"2026-11-01T00:00:00Z","data":' + raw + b"}", kind="tariffs")
    assert result.rejects == [] and result.repaired == [] and len(result.objects) == total
