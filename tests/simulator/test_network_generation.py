"""The simulated network: deterministic, and realistic in its places, hardware, statuses and tariffs."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

from roaming.simulator.network import DEFAULT_BASE_TIME, Network, build_network

ROOT = Path(__file__).resolve().parents[2]

# Written down independently of the generator: city → (alpha-3, IANA zone, approximate centre).
CITY_FACTS: dict[str, tuple[str, str, float, float]] = {
    "Berlin": ("DEU", "Europe/Berlin", 52.52, 13.40),
    "München": ("DEU", "Europe/Berlin", 48.14, 11.58),
    "Hamburg": ("DEU", "Europe/Berlin", 53.55, 10.00),
    "Köln": ("DEU", "Europe/Berlin", 50.94, 6.96),
    "Frankfurt am Main": ("DEU", "Europe/Berlin", 50.11, 8.68),
    "Stuttgart": ("DEU", "Europe/Berlin", 48.78, 9.18),
    "Amsterdam": ("NLD", "Europe/Amsterdam", 52.37, 4.90),
    "Rotterdam": ("NLD", "Europe/Amsterdam", 51.92, 4.48),
    "Utrecht": ("NLD", "Europe/Amsterdam", 52.09, 5.12),
    "Bruxelles": ("BEL", "Europe/Brussels", 50.85, 4.35),
    "Gent": ("BEL", "Europe/Brussels", 51.05, 3.72),
    "Antwerpen": ("BEL", "Europe/Brussels", 51.22, 4.40),
    "Paris": ("FRA", "Europe/Paris", 48.86, 2.35),
    "Lyon": ("FRA", "Europe/Paris", 45.76, 4.84),
    "Wien": ("AUT", "Europe/Vienna", 48.21, 16.37),
    "Graz": ("AUT", "Europe/Vienna", 47.07, 15.44),
    "Zürich": ("CHE", "Europe/Zurich", 47.38, 8.54),
    "Basel": ("CHE", "Europe/Zurich", 47.56, 7.59),
    "København": ("DNK", "Europe/Copenhagen", 55.68, 12.57),
    "Aarhus": ("DNK", "Europe/Copenhagen", 56.16, 10.20),
    "Oslo": ("NOR", "Europe/Oslo", 59.91, 10.75),
    "Bergen": ("NOR", "Europe/Oslo", 60.39, 5.32),
    "Stockholm": ("SWE", "Europe/Stockholm", 59.33, 18.07),
    "Göteborg": ("SWE", "Europe/Stockholm", 57.71, 11.97),
    "Madrid": ("ESP", "Europe/Madrid", 40.42, -3.70),
    "Barcelona": ("ESP", "Europe/Madrid", 41.39, 2.17),
    "Milano": ("ITA", "Europe/Rome", 45.46, 9.19),
    "Roma": ("ITA", "Europe/Rome", 41.90, 12.50),
    "Warszawa": ("POL", "Europe/Warsaw", 52.23, 21.01),
    "Kraków": ("POL", "Europe/Warsaw", 50.06, 19.94),
    "Lisboa": ("PRT", "Europe/Lisbon", 38.72, -9.14),
    "Porto": ("PRT", "Europe/Lisbon", 41.16, -8.63),
}
POSTAL_CODE = {
    "DEU": r"\d{5}", "NLD": r"\d{4} [A-Z]{2}", "BEL": r"\d{4}", "FRA": r"\d{5}", "AUT": r"\d{4}", "CHE": r"\d{4}",
    "DNK": r"\d{4}", "NOR": r"\d{4}", "SWE": r"\d{3} \d{2}", "ESP": r"\d{5}", "ITA": r"\d{5}", "POL": r"\d{2}-\d{3}",
    "PRT": r"\d{4}-\d{3}",
}
CURRENCY = {"CHE": "CHF", "DNK": "DKK", "NOR": "NOK", "SWE": "SEK", "POL": "PLN"}


def _json(network: Network) -> bytes:
    return json.dumps({"locations": network.locations, "tariffs": network.tariffs}, ensure_ascii=False).encode()


def _evses(network: Network) -> list[dict[str, Any]]:
    return [evse for location in network.locations for evse in location["evses"]]


def _connectors(network: Network) -> list[dict[str, Any]]:
    return [connector for evse in _evses(network) for connector in evse["connectors"]]


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


# --------------------------------------------------------------------------- determinism


def test_it_builds_the_same_network_byte_for_byte_for_the_same_seed():
    first = build_network(locations=500, seed=42)
    second = build_network(locations=500, seed=42)
    assert _json(first) == _json(second)


def test_it_builds_a_different_network_for_a_different_seed():
    first = build_network(locations=500, seed=1)
    second = build_network(locations=500, seed=2)
    assert _json(first) != _json(second)
    same_city = sum(a["city"] == b["city"] for a, b in zip(first.locations, second.locations, strict=True))
    assert same_city < 250  # not a shuffled copy: most locations differ


def test_a_smaller_network_is_the_start_of_a_larger_one_with_the_same_seed():
    small, large = build_network(locations=200, seed=3), build_network(locations=700, seed=3)
    assert large.locations[:200] == small.locations and large.tariffs == small.tariffs


def test_it_does_not_depend_on_the_process_hash_seed():
    script = (
        "import hashlib, json; from roaming.simulator.network import build_network; "
        "n = build_network(locations=300, seed=9); "
        "print(hashlib.sha256(json.dumps([n.locations, n.tariffs], ensure_ascii=False).encode()).hexdigest())"
    )
    network = build_network(locations=300, seed=9)
    expected = hashlib.sha256(json.dumps([network.locations, network.tariffs], ensure_ascii=False).encode()).hexdigest()
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        output = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        assert output.stdout.strip() == expected


def test_it_uses_the_given_party_and_base_time():
    base = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    network = build_network(locations=50, seed=5, country_code="NL", party_id="ABC", base_time=base)
    assert {(loc["country_code"], loc["party_id"]) for loc in network.locations} == {("NL", "ABC")}
    assert {(t["country_code"], t["party_id"]) for t in network.tariffs} == {("NL", "ABC")}
    assert all(e["evse_id"].startswith("NL*ABC*E") for e in _evses(network) if "evse_id" in e)
    stamps = [loc["last_updated"] for loc in network.locations]
    assert min(stamps) >= "2025-01-30T12:00:00Z" and max(stamps) < "2025-03-01T12:00:00Z"


def test_it_defaults_to_a_fixed_base_time_and_reads_a_naive_one_as_utc():
    assert dt.datetime(2026, 11, 1, tzinfo=dt.UTC) == DEFAULT_BASE_TIME
    default = build_network(locations=30, seed=3)
    assert _json(default) == _json(build_network(locations=30, seed=3, base_time=dt.datetime(2026, 11, 1)))
    assert max(loc["last_updated"] for loc in default.locations) < "2026-11-01T00:00:00Z"


def test_an_empty_network_has_tariffs_and_no_locations():
    network = build_network(locations=0, seed=1)
    assert network.locations == [] and network.tariffs
    assert network.locations_page(offset=0, limit=10) == ([], 0)


# --------------------------------------------------------------------------- identity and time


def test_it_gives_unique_ids_in_creation_order(network):
    ids = [loc["id"] for loc in network.locations]
    assert ids == [f"LOC{n:08d}" for n in range(len(ids))]
    uids = [evse["uid"] for evse in _evses(network)]
    assert len(uids) == len(set(uid.casefold() for uid in uids))
    evse_ids = [evse["evse_id"] for evse in _evses(network) if "evse_id" in evse]
    assert len(evse_ids) == len(set(evse_ids))
    assert all(re.fullmatch(r"DE\*SIM\*E\d{7}\*\d", evse_id) for evse_id in evse_ids)
    tariff_ids = [t["id"] for t in network.tariffs]
    assert len(tariff_ids) == len(set(tariff_ids))


def test_a_location_is_never_older_than_its_evses_and_an_evse_never_older_than_its_connectors(network):
    for location in network.locations:
        for evse in location["evses"]:
            assert evse["last_updated"] <= location["last_updated"], location["id"]
            for connector in evse["connectors"]:
                assert connector["last_updated"] <= evse["last_updated"], (location["id"], evse["uid"])


def test_last_updated_is_spread_over_the_thirty_days_before_the_base_time(network):
    stamps = sorted(loc["last_updated"] for loc in network.locations)
    assert stamps[0] >= "2026-10-02T00:00:00Z" and stamps[-1] < "2026-11-01T00:00:00Z"
    days = collections.Counter(stamp[:10] for stamp in stamps)
    assert len(days) >= 30
    assert max(days.values()) < 3 * len(stamps) / 30
    # A good share of locations has one child updated at the same moment (the change that touched it).
    touched = sum(any(e["last_updated"] == loc["last_updated"] for e in loc["evses"]) for loc in network.locations)
    assert 0.6 < _share(touched, len(stamps)) < 0.9


# --------------------------------------------------------------------------- places


def test_each_city_has_its_country_and_time_zone(network):
    zones = zoneinfo.available_timezones()
    cities = collections.Counter(loc["city"] for loc in network.locations)
    assert len(cities) >= 25 and len({CITY_FACTS[c][0] for c in cities}) == 13
    for location in network.locations:
        country, zone, _, _ = CITY_FACTS[location["city"]]
        assert location["country"] == country, location["id"]
        assert location["time_zone"] == zone and zone in zones
        zoneinfo.ZoneInfo(location["time_zone"])


def test_coordinates_lie_in_europe_around_their_city(network):
    for location in network.locations:
        latitude = float(location["coordinates"]["latitude"])
        longitude = float(location["coordinates"]["longitude"])
        assert 35 < latitude < 71 and -10 < longitude < 32, location["id"]
        _, _, city_latitude, city_longitude = CITY_FACTS[location["city"]]
        north_km = (latitude - city_latitude) * 111.3
        east_km = (longitude - city_longitude) * 111.3 * math.cos(math.radians(city_latitude))
        limit = 45 if location.get("parking_type") == "ALONG_MOTORWAY" else 16
        assert math.hypot(north_km, east_km) < limit, location["id"]
    decimals = collections.Counter(len(loc["coordinates"]["latitude"].split(".")[1]) for loc in network.locations)
    assert set(decimals) == {5, 6, 7}


def test_addresses_and_postal_codes_look_local(network):
    for location in network.locations:
        assert re.fullmatch(POSTAL_CODE[location["country"]], location["postal_code"]), location
        assert re.search(r"\d", location["address"]) and len(location["address"]) <= 255
    french = [loc["address"] for loc in network.locations if loc["country"] == "FRA"]
    assert all(re.match(r"\d", address) for address in french)  # "12 Rue de la Gare"
    assert len({loc["address"] for loc in network.locations}) > 0.8 * len(network.locations)


# --------------------------------------------------------------------------- hardware and statuses


def test_it_has_about_three_evses_per_location(network):
    per_location = [len(loc["evses"]) for loc in network.locations]
    assert 2.7 < sum(per_location) / len(per_location) < 3.4
    assert min(per_location) >= 1 and max(per_location) <= 10


def test_connectors_are_type_2_sockets_ccs_and_chademo_cables_with_consistent_ratings(network):
    kinds: collections.Counter[str] = collections.Counter()
    for connector in _connectors(network):
        standard, power = connector["standard"], connector["max_electric_power"]
        if standard == "IEC_62196_T2":
            assert connector["power_type"] == "AC_3_PHASE" and connector["max_voltage"] == 230
            assert connector["max_amperage"] in (16, 32, 63)
            assert power == 230 * connector["max_amperage"] * 3
            kinds[f"T2 {connector['format']} {round(power / 1000)} kW"] += 1
        elif standard == "IEC_62196_T2_COMBO":
            assert connector["format"] == "CABLE" and connector["power_type"] == "DC"
            assert 50_000 <= power <= 350_000
            assert connector["max_voltage"] * connector["max_amperage"] >= power
            kinds[f"CCS {power // 1000} kW"] += 1
        elif standard == "CHADEMO":
            assert (connector["format"], connector["power_type"], power) == ("CABLE", "DC", 50_000)
            kinds["CHAdeMO"] += 1
        else:
            assert standard == "DOMESTIC_F" and connector["power_type"] == "AC_1_PHASE"
            kinds["Schuko"] += 1
    for expected in ("T2 SOCKET 11 kW", "T2 SOCKET 22 kW", "T2 CABLE 22 kW", "T2 CABLE 43 kW", "CCS 50 kW",
                     "CCS 150 kW", "CCS 300 kW", "CCS 350 kW", "CHAdeMO", "Schuko"):
        assert kinds[expected], expected
    assert any("terms_and_conditions" in connector for connector in _connectors(network))
    total = sum(kinds.values())
    ac = sum(count for kind, count in kinds.items() if kind.startswith("T2 SOCKET"))
    assert 0.55 < _share(ac, total) < 0.85
    # Only one connector of an EVSE charges at a time: its ids are unique, "1", "2", …
    for evse in _evses(network):
        assert [c["id"] for c in evse["connectors"]] == [str(n) for n in range(1, len(evse["connectors"]) + 1)]


def test_statuses_are_mostly_available_with_some_charging_and_a_few_broken(network):
    evses = _evses(network)
    statuses = collections.Counter(evse["status"] for evse in evses)
    total = len(evses)
    assert 0.55 < _share(statuses["AVAILABLE"], total) < 0.75
    assert 0.12 < _share(statuses["CHARGING"], total) < 0.28
    assert 0.04 < _share(statuses["OUTOFORDER"] + statuses["INOPERATIVE"] + statuses["UNKNOWN"], total) < 0.14
    assert 0 < _share(statuses["PLANNED"], total) < 0.02
    assert 0.01 < _share(statuses["REMOVED"], total) < 0.06
    assert statuses["BLOCKED"] and statuses["RESERVED"]
    for evse in evses:
        if evse["status"] == "RESERVED":
            assert "RESERVABLE" in evse["capabilities"]
        if evse["status"] == "PLANNED":
            assert evse["status_schedule"][0]["status"] == "AVAILABLE"


def test_a_few_locations_have_every_evse_removed(network):
    gone = [loc for loc in network.locations if all(e["status"] == "REMOVED" for e in loc["evses"])]
    assert 0.002 < _share(len(gone), len(network.locations)) < 0.03
    assert any(loc["id"] for loc in build_network(locations=100, seed=77).locations
               if all(e["status"] == "REMOVED" for e in loc["evses"]))


def test_capabilities_match_what_the_hardware_offers(network):
    evses = _evses(network)
    has = collections.Counter(cap for evse in evses for cap in evse.get("capabilities", ()))
    assert 0.85 < _share(has["REMOTE_START_STOP_CAPABLE"], len(evses)) < 0.97
    assert 0.04 < _share(has["RESERVABLE"], len(evses)) < 0.3
    assert 0.01 < _share(has["START_SESSION_CONNECTOR_REQUIRED"], len(evses)) < 0.1
    assert 0.15 < _share(has["CREDIT_CARD_PAYABLE"], len(evses)) < 0.6
    assert has["CONTACTLESS_CARD_SUPPORT"] == has["CREDIT_CARD_PAYABLE"]
    assert any("capabilities" not in evse for evse in evses)
    dc = [e for e in evses if e["connectors"][0]["power_type"] == "DC"]
    assert _share(sum("CREDIT_CARD_PAYABLE" in e.get("capabilities", ()) for e in dc), len(dc)) > 0.7
    multi = [e for e in evses if len(e["connectors"]) > 1]
    assert _share(sum("START_SESSION_CONNECTOR_REQUIRED" in e.get("capabilities", ()) for e in multi), len(multi)) > 0.4


# --------------------------------------------------------------------------- site details


def test_sites_have_operators_hours_facilities_and_some_extras(network):
    locations = network.locations
    operators = collections.Counter(loc["operator"]["name"] for loc in locations if "operator" in loc)
    assert len(operators) >= 6 and 0.85 < _share(sum(operators.values()), len(locations)) < 0.97
    assert all(loc["operator"]["website"].startswith("https://") for loc in locations if "operator" in loc)
    for name in ("suboperator", "owner", "energy_mix", "facilities", "images", "directions", "related_locations",
                 "state"):
        assert 0 < _share(sum(name in loc for loc in locations), len(locations)) < 1, name
    assert len({loc["parking_type"] for loc in locations}) == 5
    assert len({f for loc in locations for f in loc.get("facilities", ())}) >= 15
    unpublished = [loc for loc in locations if not loc["publish"]]
    assert 0.005 < _share(len(unpublished), len(locations)) < 0.06
    assert all(loc["publish_allowed_to"] for loc in unpublished)
    assert {"group_id", "uid", "visual_number"} <= {key for loc in unpublished for t in loc["publish_allowed_to"] for key in t}


def test_opening_hours_are_24_7_split_or_shop_hours_with_exceptions(network):
    hours = [loc["opening_times"] for loc in network.locations if "opening_times" in loc]
    always = [h for h in hours if h["twentyfourseven"]]
    assert 0.6 < _share(len(always), len(hours)) < 0.9
    split = [h for h in hours if {"weekday": 1, "period_begin": "07:00", "period_end": "12:00"} in h.get("regular_hours", ())
             and {"weekday": 1, "period_begin": "13:00", "period_end": "20:00"} in h["regular_hours"]]
    assert split
    closings = [h for h in hours if "exceptional_closings" in h]
    assert any(h["twentyfourseven"] for h in closings) and any(not h["twentyfourseven"] for h in closings)
    assert any("exceptional_openings" in h for h in hours)
    # Christmas closes at local midnight: 23:00Z in Berlin (CET), 00:00Z in Lisbon (WET).
    christmas = {(loc["time_zone"], period["period_begin"]) for loc in network.locations
                 for period in loc.get("opening_times", {}).get("exceptional_closings", ())
                 if period["period_end"][:10] == "2026-12-25" or period["period_begin"][:10] == "2026-12-25"}
    assert ("Europe/Berlin", "2026-12-24T23:00:00Z") in christmas
    assert ("Europe/Lisbon", "2026-12-25T00:00:00Z") in christmas
    assert all("charging_when_closed" in loc for loc in network.locations
               if not loc.get("opening_times", {"twentyfourseven": True})["twentyfourseven"])


# --------------------------------------------------------------------------- tariffs


def test_every_connector_refers_to_existing_tariffs_in_its_countrys_currency(network):
    tariffs = {t["id"]: t for t in network.tariffs}
    used: set[str] = set()
    for location in network.locations:
        currency = CURRENCY.get(location["country"], "EUR")
        for evse in location["evses"]:
            for connector in evse["connectors"]:
                assert connector["tariff_ids"], (location["id"], evse["uid"])
                for tariff_id in connector["tariff_ids"]:
                    assert tariffs[tariff_id]["currency"] == currency, (location["id"], tariff_id)
                used.update(connector["tariff_ids"])
                # At most one tariff per type is valid at a time (checklist §4.4).
                by_type = collections.defaultdict(list)
                for tariff_id in connector["tariff_ids"]:
                    by_type[tariffs[tariff_id].get("type")].append(tariffs[tariff_id])
                for same in by_type.values():
                    if len(same) > 1:
                        assert len(same) == 2 and same[0]["end_date_time"] == same[1]["start_date_time"]
    assert len(used) > 0.9 * len(tariffs)


def test_tariffs_come_in_the_kinds_the_spec_examples_show(network):
    tariffs = network.tariffs
    assert 30 <= len(tariffs) <= 100

    def components(tariff: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for element in tariff["elements"] for c in element["price_components"]]

    def restrictions(tariff: dict[str, Any]) -> list[dict[str, Any]]:
        return [e["restrictions"] for e in tariff["elements"] if "restrictions" in e]

    kinds = {
        "per kWh with VAT": lambda t: [c["type"] for c in components(t)] == ["ENERGY"] and "vat" in components(t)[0],
        "per kWh + start fee": lambda t: {"FLAT", "ENERGY"} <= {c["type"] for c in components(t)},
        "time with step_size": lambda t: any(c["type"] == "TIME" and c["step_size"] > 1 for c in components(t)),
        "parking in a time window": lambda t: any(
            "start_time" in r and any(c["type"] == "PARKING_TIME" for e in t["elements"] if e.get("restrictions") == r
                                      for c in e["price_components"]) for r in restrictions(t)),
        "min price": lambda t: "min_price" in t,
        "max price": lambda t: "max_price" in t,
        "ad hoc": lambda t: t.get("type") == "AD_HOC_PAYMENT" and "tariff_alt_text" in t,
        "free": lambda t: [c["price"] for c in components(t)] == [0],
        "complex": lambda t: any("max_current" in r for r in restrictions(t))
        and any("min_current" in r and "day_of_week" in r for r in restrictions(t)),
        "reservation": lambda t: any("reservation" in r for r in restrictions(t)),
        "scheduled": lambda t: "start_date_time" in t or "end_date_time" in t,
        "green": lambda t: t.get("energy_mix", {}).get("is_green_energy") is True,
        "alt url": lambda t: "tariff_alt_url" in t,
    }
    for name, matches in kinds.items():
        assert any(matches(t) for t in tariffs), name
    assert {t["currency"] for t in tariffs} == {"EUR", "CHF", "DKK", "NOK", "SEK", "PLN"}
    # Each operator prices its own way: the AC tariffs of one country differ between operators.
    german_ac = {t["id"]: components(t)[-1]["price"] for t in tariffs if re.fullmatch(r"[A-Z]{2}-DE-AC", t["id"])}
    assert len(german_ac) >= 2 and len(set(german_ac.values())) == len(german_ac)
    # VAT follows the country.
    assert {c["vat"] for t in tariffs if t["currency"] == "SEK" for c in components(t)} == {25.0}
    stamps = sorted(t["last_updated"] for t in tariffs)
    assert stamps[0] >= "2026-08-03T00:00:00Z" and stamps[-1] < "2026-11-01T00:00:00Z"


def test_tariff_prices_are_plausible(network):
    per_kwh = collections.defaultdict(list)
    for tariff in network.tariffs:
        for element in tariff["elements"]:
            for component in element["price_components"]:
                if component["type"] == "ENERGY":
                    per_kwh[tariff["currency"]].append(component["price"])
    eur_per_unit = {"EUR": 1, "CHF": 1.05, "DKK": 0.134, "NOK": 0.085, "SEK": 0.087, "PLN": 0.23}
    for currency, prices in per_kwh.items():
        for price in prices:
            assert 0.2 < price * eur_per_unit[currency] < 1.0, (currency, price)
