"""Locations pushed to us (eMSP as Receiver, checklist §4.1): PUT/PATCH/GET of Locations, EVSEs and
connectors, over our real OCPI views with a real partner token, and what ends up in the database."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roaming.models import EVSE, Connector, Location, Partner, PartnerRole
from tests.ocpi_wire.paths import example

from .factories import connected_partner
from .ocpi_http import assert_refused, call, rows

pytestmark = pytest.mark.django_db

BASE = "/ocpi/2.2.1/locations"
LOC = f"{BASE}/BE/BEC/LOC1"  # the ids of the spec's location_example.json


def spec_location(**changes: Any) -> dict[str, Any]:
    body = example("location_example.json")
    body.update(changes)
    return body


@pytest.fixture
def cpo() -> tuple[Partner, str]:
    return connected_partner("BE", "BEC")


@pytest.fixture
def token(cpo) -> str:
    return cpo[1]


@pytest.fixture
def stored(client, token) -> Location:
    """The spec's example location, pushed by its CPO."""
    response = call(client, "PUT", LOC, token, body=spec_location())
    assert response.status_code == 201, response.json()
    return Location.objects.get()


def network_state() -> dict[str, list[dict[str, Any]]]:
    return rows(Location, EVSE, Connector)


def evse(uid: str) -> EVSE:
    return EVSE.objects.get(uid=uid)


def held(client, token) -> dict[str, Any]:
    """The location as we hold it, as the CPO reads it back (GET)."""
    return call(client, "GET", LOC, token).json()["data"]


def ocpi_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")




# PUT of a whole Location -------------------------------------------------------------------------


def test_it_creates_the_spec_example_location_with_201_and_its_evses_connectors_and_summary(
    client, token, cpo
):
    response = call(client, "PUT", LOC, token, body=spec_location())

    assert response.status_code == 201
    assert response.json()["status_code"] == 1000
    location = Location.objects.get()
    assert (location.key, location.partner, location.name) == ("BE*BEC*LOC1", cpo[0], "Gent Zuid")
    assert [(e.uid, e.status) for e in location.evses.order_by("uid")] == [
        ("3256", "AVAILABLE"),
        ("3257", "RESERVED"),
    ]
    assert Connector.objects.filter(evse__location=location).count() == 3
    assert (location.evse_count, location.available_evse_count, location.is_visible) == (2, 1, True)
    assert location.connector_standards == ["IEC_62196_T2"]


def test_it_replaces_a_location_with_200_and_marks_an_evse_it_omits_removed(client, token, stored):
    body = spec_location(last_updated="2015-07-01T10:00:00Z")
    body["evses"] = [body["evses"][0]]

    response = call(client, "PUT", LOC, token, body=body)

    assert response.status_code == 200
    assert evse("3257").status == "REMOVED"
    assert EVSE.objects.count() == 2  # never deleted: sessions may point at it
    stored.refresh_from_db()
    assert (stored.evse_count, stored.available_evse_count) == (1, 1)


def test_an_evse_a_put_leaves_out_is_removed_as_of_that_version_so_the_cpos_next_update_of_it_applies(
    client, token, stored
):
    # Stamped with our clock, it was ahead of the CPO's: its next PATCH, a few seconds later by
    # the CPO's clock, was acknowledged as older and not applied, and the EVSE stayed REMOVED.
    body = spec_location(last_updated="2015-07-01T10:00:00Z")
    body["evses"] = [body["evses"][0]]
    call(client, "PUT", LOC, token, body=body)
    assert (evse("3257").status, ocpi_time(evse("3257").last_updated)) == ("REMOVED", "2015-07-01T10:00:00Z")

    response = call(client, "PATCH", f"{LOC}/3257", token, body={"status": "AVAILABLE", "last_updated": "2015-07-01T10:00:05Z"})

    assert response.json()["status_code"] == 1000 and "not applied" not in (response.json().get("status_message") or "")
    assert evse("3257").status == "AVAILABLE"
    stored.refresh_from_db()
    assert (stored.evse_count, stored.available_evse_count) == (2, 2)


def test_it_acknowledges_and_ignores_a_location_put_older_than_what_it_holds(client, token, stored):
    before = network_state()
    response = call(
        client, "PUT", LOC, token, body=spec_location(name="Old name", last_updated="2014-01-01T00:00:00Z")
    )

    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert "not applied" in response.json()["status_message"]
    assert network_state() == before


def test_it_accepts_body_ids_that_differ_from_the_url_only_in_case(client, token):
    response = call(client, "PUT", f"{BASE}/be/bec/loc1/", token, body=spec_location())
    assert response.status_code == 201
    assert Location.objects.get().key == "BE*BEC*LOC1"


# GET returns what we hold ----------------------------------------------------------------------


def test_it_returns_the_location_evse_and_connector_as_stored(client, token, stored):
    location = call(client, "GET", LOC, token).json()["data"]
    assert location["id"] == "LOC1" and location["name"] == "Gent Zuid"
    assert location["coordinates"] == {"latitude": "51.047599", "longitude": "3.729944"}
    assert [e["uid"] for e in location["evses"]] == ["3256", "3257"]
    assert location["evses"][0]["connectors"][1] == {
        "id": "2",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 220,
        "max_amperage": 16,
        "tariff_ids": ["13"],
        "last_updated": "2015-03-18T08:12:01Z",
    }
    evse_data = call(client, "GET", f"{LOC}/3257", token).json()["data"]
    assert (evse_data["evse_id"], evse_data["status"], len(evse_data["connectors"])) == (
        "BE*BEC*E041503002",
        "RESERVED",
        1,
    )
    connector = call(client, "GET", f"{LOC}/3256/1", token).json()["data"]
    assert (connector["id"], connector["format"], connector["tariff_ids"]) == ("1", "CABLE", ["11"])


def test_it_shows_an_evse_a_put_left_out_as_removed_on_get(client, token, stored):
    body = spec_location(last_updated="2015-07-01T10:00:00Z")
    body["evses"] = [body["evses"][0]]
    call(client, "PUT", LOC, token, body=body)

    location = call(client, "GET", LOC, token).json()["data"]

    assert [(e["uid"], e["status"]) for e in location["evses"]] == [
        ("3256", "AVAILABLE"),
        ("3257", "REMOVED"),
    ]


@pytest.mark.parametrize(
    ("path", "status_code", "what"),
    [
        (f"{BASE}/BE/BEC/NOPE", 2003, "location"),
        (f"{LOC}/9999", 2000, "EVSE"),
        (f"{LOC}/3256/9", 2000, "connector"),
    ],
)
def test_it_answers_get_of_an_unknown_object_with_404(client, token, stored, path, status_code, what):
    assert_refused(call(client, "GET", path, token), 404, status_code, what)


# EVSE and connector PUT ----------------------------------------------------------------------------


def test_it_puts_a_new_evse_with_201_then_replaces_it_with_200_and_moves_the_location_forward(
    client, token, stored
):
    new_evse = copy.deepcopy(spec_location()["evses"][1])
    new_evse.update(
        uid="3258", evse_id="BE*BEC*E041503003", status="AVAILABLE", last_updated="2015-07-02T09:00:00Z"
    )

    created = call(client, "PUT", f"{LOC}/3258", token, body=new_evse)
    new_evse.update(status="CHARGING", last_updated="2015-07-02T09:05:00Z")
    replaced = call(client, "PUT", f"{LOC}/3258", token, body=new_evse)

    assert (created.status_code, replaced.status_code) == (201, 200)
    stored.refresh_from_db()
    assert ocpi_time(stored.last_updated) == "2015-07-02T09:05:00Z"
    assert (stored.evse_count, stored.available_evse_count) == (3, 1)
    assert evse("3258").status == "CHARGING"
    assert evse("3258").connectors.count() == 1
    assert [e["uid"] for e in held(client, token)["evses"]] == ["3256", "3257", "3258"]
    assert held(client, token)["evses"][2]["status"] == "CHARGING"
    assert held(client, token)["last_updated"] == "2015-07-02T09:05:00Z"


def test_it_replaces_the_connectors_of_an_evse_put(client, token, stored):
    body = copy.deepcopy(spec_location()["evses"][0])
    body["connectors"] = [
        dict(body["connectors"][0], id="7", standard="CHADEMO", power_type="DC", max_electric_power=50000)
    ]
    body["last_updated"] = "2015-07-02T09:00:00Z"

    assert call(client, "PUT", f"{LOC}/3256", token, body=body).status_code == 200

    assert list(evse("3256").connectors.values_list("ocpi_id", "standard")) == [("7", "CHADEMO")]
    stored.refresh_from_db()
    assert stored.max_power_kw == Decimal("50.0")
    assert stored.connector_standards == ["CHADEMO", "IEC_62196_T2"]


def test_it_refuses_an_evse_put_for_an_unknown_location_with_2003_and_stores_nothing(client, token):
    evse_body = spec_location()["evses"][0]

    response = call(client, "PUT", f"{BASE}/BE/BEC/UNKNOWN/3256", token, body=evse_body)

    assert_refused(response, 404, 2003, "Unknown location")
    assert network_state() == {"Location": [], "EVSE": [], "Connector": []}


def test_it_refuses_a_connector_put_for_an_unknown_location_with_2003(client, token):
    connector = spec_location()["evses"][0]["connectors"][0]
    assert_refused(call(client, "PUT", f"{BASE}/BE/BEC/UNKNOWN/3256/1", token, body=connector), 404, 2003)
    assert not Connector.objects.exists()


def test_it_refuses_a_connector_put_for_an_unknown_evse_with_404(client, token, stored):
    before = network_state()
    connector = spec_location()["evses"][0]["connectors"][0]

    assert_refused(call(client, "PUT", f"{LOC}/9999/1", token, body=connector), 404, 2000, "Unknown EVSE")
    assert network_state() == before


def test_it_puts_a_connector_and_moves_its_evse_and_location_forward(client, token, stored):
    connector = dict(
        spec_location()["evses"][0]["connectors"][0],
        id="3",
        standard="CHADEMO",
        format="CABLE",
        power_type="DC",
        max_electric_power=50000,
        last_updated="2015-07-03T12:00:00Z",
    )

    response = call(client, "PUT", f"{LOC}/3256/3", token, body=connector)

    assert response.status_code == 201
    assert list(evse("3256").connectors.order_by("pk").values_list("ocpi_id", flat=True)) == ["1", "2", "3"]
    assert ocpi_time(evse("3256").last_updated) == "2015-07-03T12:00:00Z"
    assert evse("3256").raw["last_updated"] == "2015-07-03T12:00:00Z"
    stored.refresh_from_db()
    assert ocpi_time(stored.last_updated) == "2015-07-03T12:00:00Z"
    assert stored.max_power_kw == Decimal("50.0")
    assert held(client, token)["evses"][0]["connectors"][2]["id"] == "3"


# PATCH ------------------------------------------------------------------------------------------


def test_it_applies_the_spec_status_patch_and_recomputes_the_summary(client, token, stored):
    body = example("location_patch_example_status.json")  # CHARGING at 2019-06-24T12:39:09Z

    response = call(client, "PATCH", f"{LOC}/3256", token, body=body)

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    patched = evse("3256")
    assert patched.status == "CHARGING"
    assert patched.raw["status"] == "CHARGING" and patched.raw["last_updated"] == "2019-06-24T12:39:09Z"
    assert patched.evse_id == "BE*BEC*E041503001"  # untouched fields stay
    stored.refresh_from_db()
    assert stored.available_evse_count == 0
    assert ocpi_time(stored.last_updated) == "2019-06-24T12:39:09Z"
    assert held(client, token)["evses"][0]["status"] == "CHARGING"
    assert ocpi_time(stored.status_updated_at) == "2019-06-24T12:39:09Z"


def test_it_reads_an_enum_sent_with_surrounding_spaces_as_the_value_and_stores_it_clean(client, token, stored):
    # Every string is stripped (common.py); an enum is a string on the wire, and pulls read it so.
    body = {"status": " CHARGING ", "last_updated": "2019-06-24T12:39:09Z"}

    response = call(client, "PATCH", f"{LOC}/3256", token, body=body)

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    patched = evse("3256")
    assert (patched.status, patched.raw["status"]) == ("CHARGING", "CHARGING")
    assert held(client, token)["evses"][0]["status"] == "CHARGING"
    stored.refresh_from_db()
    assert stored.available_evse_count == 0


def test_it_still_refuses_an_unknown_enum_value_with_spaces_around_it(client, token, stored):
    before = network_state()
    body = {"status": " AVAIL ", "last_updated": "2019-06-24T12:39:09Z"}
    assert_refused(call(client, "PATCH", f"{LOC}/3256", token, body=body), 200, 2001, "status", "AVAIL")
    assert network_state() == before


def test_it_hides_a_location_whose_only_evse_is_patched_removed(client, token):
    body = spec_location()
    body["evses"] = [body["evses"][0]]
    call(client, "PUT", LOC, token, body=body)
    assert Location.objects.get().is_visible

    response = call(
        client, "PATCH", f"{LOC}/3256", token, body=example("location_patch_example_remove_evse.json")
    )

    assert response.status_code == 200
    location = Location.objects.get()
    assert (location.is_visible, location.evse_count) == (False, 0)
    assert evse("3256").status == "REMOVED"


def test_it_keeps_a_location_visible_while_another_evse_remains(client, token, stored):
    call(client, "PATCH", f"{LOC}/3256", token, body=example("location_patch_example_remove_evse.json"))
    stored.refresh_from_db()
    assert (stored.is_visible, stored.evse_count, stored.available_evse_count) == (True, 1, 0)


def test_it_applies_the_spec_connector_tariff_patch_and_moves_the_parents_forward(client, token, stored):
    response = call(
        client, "PATCH", f"{LOC}/3256/2", token, body=example("location_patch_example_tariff.json")
    )

    assert response.status_code == 200
    connector = Connector.objects.get(evse__uid="3256", ocpi_id="2")
    assert connector.tariff_ids == ["15"]
    assert connector.format == "SOCKET"  # untouched fields stay
    assert ocpi_time(connector.last_updated) == "2019-06-24T12:39:09Z"
    assert ocpi_time(evse("3256").last_updated) == "2019-06-24T12:39:09Z"
    stored.refresh_from_db()
    assert ocpi_time(stored.last_updated) == "2019-06-24T12:39:09Z"
    assert held(client, token)["evses"][0]["connectors"][1]["tariff_ids"] == ["15"]
    got = call(client, "GET", f"{LOC}/3256/2", token).json()["data"]
    assert got["tariff_ids"] == ["15"] and got["last_updated"] == "2019-06-24T12:39:09Z"


def test_it_applies_the_spec_location_name_patch_and_keeps_raw_in_sync(client, token, stored):
    response = call(client, "PATCH", LOC, token, body=example("location_patch_example_location.json"))

    assert response.status_code == 200
    stored.refresh_from_db()
    assert stored.name == "Interparking Gent Zuid"
    assert stored.raw["name"] == "Interparking Gent Zuid"
    assert held(client, token)["last_updated"] == "2019-06-24T12:39:09Z"
    assert "evses" not in stored.raw  # a location's raw holds its own fields; each EVSE keeps its own
    assert stored.address == "F.Rooseveltlaan 3A" and len(held(client, token)["evses"]) == 2  # the rest stays
    assert call(client, "GET", LOC, token).json()["data"]["name"] == "Interparking Gent Zuid"


def test_it_moves_the_point_and_hides_an_unpublished_location_on_patch(client, token, stored):
    body = {
        "coordinates": {"latitude": "51.100000", "longitude": "3.800000"},
        "publish": False,
        "last_updated": "2019-06-24T12:39:09Z",
    }

    assert call(client, "PATCH", LOC, token, body=body).status_code == 200

    stored.refresh_from_db()
    assert (stored.point.y, stored.point.x) == (51.1, 3.8)
    assert stored.is_visible is False


def test_it_clears_an_optional_field_patched_to_null(client, token, stored):
    call(client, "PATCH", LOC, token, body={"postal_code": None, "last_updated": "2019-06-24T12:39:09Z"})
    stored.refresh_from_db()
    assert stored.postal_code == "" and "postal_code" not in stored.raw


def test_it_upserts_the_evses_of_a_location_patch_and_keeps_the_ones_it_does_not_list(client, token, stored):
    changed = copy.deepcopy(spec_location()["evses"][0])
    changed.update(status="OUTOFORDER", last_updated="2019-06-24T12:39:09Z")
    added = copy.deepcopy(spec_location()["evses"][1])
    added.update(
        uid="4000", evse_id="BE*BEC*E041504000", status="AVAILABLE", last_updated="2019-06-24T12:39:09Z"
    )

    response = call(
        client, "PATCH", LOC, token, body={"evses": [changed, added], "last_updated": "2019-06-24T12:39:09Z"}
    )

    assert response.status_code == 200
    assert {e.uid: e.status for e in EVSE.objects.all()} == {
        "3256": "OUTOFORDER",
        "3257": "RESERVED",
        "4000": "AVAILABLE",
    }
    stored.refresh_from_db()
    assert (stored.evse_count, stored.available_evse_count) == (3, 1)
    assert [e["uid"] for e in held(client, token)["evses"]] == ["3256", "3257", "4000"]


def test_it_acknowledges_and_ignores_a_patch_older_than_what_it_holds(client, token, stored):
    before = network_state()
    old = {"status": "CHARGING", "last_updated": "2015-01-01T00:00:00Z"}

    for path, body in (
        (f"{LOC}/3256", old),
        (LOC, {"name": "Old", "last_updated": "2014-01-01T00:00:00Z"}),
        (f"{LOC}/3256/1", {"tariff_ids": ["9"], "last_updated": "2014-01-01T00:00:00Z"}),
    ):
        response = call(client, "PATCH", path, token, body=body)
        assert response.status_code == 200 and response.json()["status_code"] == 1000
        assert "not applied" in response.json()["status_message"]
    assert network_state() == before


def test_it_applies_status_patches_with_the_same_last_updated_in_arrival_order(client, token, stored):
    # CPOs send whole seconds: two changes within one second carry the same last_updated.
    for status in ("CHARGING", "AVAILABLE"):
        call(
            client,
            "PATCH",
            f"{LOC}/3256",
            token,
            body={"status": status, "last_updated": "2019-06-24T12:39:09Z"},
        )
    assert evse("3256").status == "AVAILABLE"


def test_it_orders_patches_by_sub_second_last_updated(client, token, stored):
    call(
        client,
        "PATCH",
        f"{LOC}/3256",
        token,
        body={"status": "CHARGING", "last_updated": "2019-06-24T12:39:09.500Z"},
    )
    late = call(
        client,
        "PATCH",
        f"{LOC}/3256",
        token,
        body={"status": "BLOCKED", "last_updated": "2019-06-24T12:39:09.200Z"},
    )
    assert "not applied" in late.json()["status_message"]
    assert evse("3256").status == "CHARGING"


def test_it_keeps_the_evse_status_patch_to_a_handful_of_queries(
    client, token, stored, django_assert_max_num_queries
):
    # Partner lookup, party check, contact time (the decorator and the view); then the location,
    # its EVSEs with their connectors, two UPDATEs, and the savepoint and its release.
    with django_assert_max_num_queries(9):
        response = call(
            client, "PATCH", f"{LOC}/3256", token, body=example("location_patch_example_status.json")
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "status_code", "what"),
    [
        (f"{BASE}/BE/BEC/NOPE", 2003, "Unknown location"),
        (f"{LOC}/9999", 2000, "Unknown EVSE"),
        (f"{LOC}/3256/9", 2000, "Unknown connector"),
    ],
)
def test_it_answers_a_patch_of_an_unknown_object_with_404(client, token, stored, path, status_code, what):
    before = network_state()
    response = call(
        client, "PATCH", path, token, body={"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}
    )
    assert_refused(response, 404, status_code, what)
    assert network_state() == before


# Bad input: a precise 2001, and nothing written ----------------------------------------------------


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def _evse_change(**changes: Any) -> dict[str, Any]:
    body = spec_location()
    body["evses"][1].update(changes)
    return body


def _duplicate_evse() -> dict[str, Any]:
    body = spec_location()
    body["evses"][1]["uid"] = "3256"
    return body


def _connector_change(**changes: Any) -> dict[str, Any]:
    body = spec_location()
    body["evses"][0]["connectors"][1].update(changes)
    return body


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"next": value}
    return value


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(spec_location(publish="perhaps"), ["publish", "true or false"], id="wrong-type"),
        pytest.param(spec_location(evses="none"), ["evses", "JSON array"], id="wrong-type-list"),
        pytest.param(
            _without(spec_location(), "address"),
            ["address: required field is missing"],
            id="missing-required",
        ),
        pytest.param(
            _without(spec_location(), "last_updated"),
            ["last_updated: required field is missing"],
            id="missing-last-updated",
        ),
        pytest.param(
            _evse_change(status="BROKEN"),
            ["evses[1].status", "'BROKEN' is not a valid Status"],
            id="unknown-status",
        ),
        pytest.param(
            _connector_change(standard="TYPE2"),
            ["evses[0].connectors[1].standard", "ConnectorType"],
            id="unknown-standard",
        ),
        pytest.param(
            spec_location(coordinates={"latitude": "91.000000", "longitude": "3.729944"}),
            ["coordinates.latitude", "out of range"],
            id="latitude-out-of-range",
        ),
        pytest.param(
            spec_location(coordinates={"latitude": "51.047599", "longitude": "-181.000000"}),
            ["coordinates.longitude", "out of range"],
            id="longitude-out-of-range",
        ),
        pytest.param(
            _duplicate_evse(), ["evses[1].uid", "duplicate EVSE uid '3256'"], id="duplicate-evse-uid"
        ),
        pytest.param(spec_location(country="BE"), ["country", "alpha-3"], id="alpha2-country"),
        pytest.param([spec_location()], ["expected a JSON object"], id="array-body"),
        pytest.param(
            spec_location(name="Gent\u0000Zuid"), ["name: contains a NUL character"], id="nul-character"
        ),
        pytest.param(
            spec_location(x_vendor={"score": float("nan")}), ["x_vendor.score: NaN is not a JSON number"], id="nan"
        ),
        pytest.param(
            spec_location(energy_mix={"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 1e30}]}),
            ["energy_mix.energy_sources[0].percentage", "too large"],
            id="number-too-large",
        ),
        pytest.param(
            _connector_change(max_electric_power=3_000_000_000),
            ["evses[0].connectors[1].max_electric_power", "above the maximum 2147483647"],
            id="rating-beyond-an-integer-column",
        ),
        pytest.param(
            # Each rating fits its column; their product overflowed the map's max power and made the
            # Location unreadable (a 500 in the admin) after a 201.
            _connector_change(max_voltage=400_000, max_amperage=32_000),
            ["evses[0].connectors[1]: max_voltage 400000 × max_amperage 32000 is 38,400,000,000 W", "milliamperes?"],
            id="volts-times-amperes-beyond-any-connector",
        ),
        pytest.param(
            spec_location(x_vendor={"serial": 2**70}),
            ["x_vendor.serial: an integer of 22 digits is beyond the range"],
            id="integer-beyond-64-bits",
        ),
        pytest.param(
            spec_location(x_vendor=_nested(220)),
            ["x_vendor", "nested more than 200 levels deep"],
            id="nested-too-deep",
        ),
    ],
)
def test_it_refuses_a_bad_location_put_precisely_and_writes_nothing(client, token, stored, body, fragments):
    before = network_state()
    response = call(client, "PUT", LOC, token, body=body)
    assert_refused(response, 200, 2001, *fragments)
    assert network_state() == before


def test_it_refuses_a_bad_location_put_for_a_new_location_and_creates_nothing(client, token):
    response = call(client, "PUT", LOC, token, body=_duplicate_evse())
    assert_refused(response, 200, 2001, "duplicate EVSE uid")
    assert network_state() == {"Location": [], "EVSE": [], "Connector": []}


@pytest.mark.parametrize(
    ("path", "body", "fragments"),
    [
        pytest.param(
            f"{LOC}/3256",
            {"status": "CHARGING"},
            ["last_updated: required field is missing"],
            id="no-last-updated",
        ),
        pytest.param(
            LOC, {"name": "X"}, ["last_updated: required field is missing"], id="location-no-last-updated"
        ),
        pytest.param(
            f"{LOC}/3256",
            {"status": "BROKEN", "last_updated": "2019-06-24T12:39:09Z"},
            ["status", "'BROKEN' is not a valid Status"],
            id="unknown-status",
        ),
        pytest.param(
            f"{LOC}/3256",
            {"status": None, "last_updated": "2019-06-24T12:39:09Z"},
            ["status"],
            id="null-status",
        ),
        pytest.param(
            f"{LOC}/3256/1",
            {"max_voltage": "high", "last_updated": "2019-06-24T12:39:09Z"},
            ["max_voltage", "integer"],
            id="wrong-type",
        ),
        pytest.param(
            LOC,
            {
                "coordinates": {"latitude": "-95.000000", "longitude": "3.000000"},
                "last_updated": "2019-06-24T12:39:09Z",
            },
            ["coordinates.latitude", "out of range"],
            id="coordinates-out-of-range",
        ),
        pytest.param(
            LOC, {"last_updated": "yesterday"}, ["last_updated", "not an OCPI DateTime"], id="bad-datetime"
        ),
        pytest.param(
            LOC,
            {
                "evses": [spec_location()["evses"][0], spec_location()["evses"][0]],
                "last_updated": "2019-06-24T12:39:09Z",
            },
            ["evses[1].uid", "duplicate EVSE uid"],
            id="duplicate-evse-uid",
        ),
        pytest.param(
            f"{LOC}/3256/1",
            {"max_voltage": 400},
            ["last_updated: required field is missing"],
            id="connector-no-last-updated",
        ),
        pytest.param(
            f"{LOC}/3256/1",
            {"standard": "TYPE2", "last_updated": "2019-06-24T12:39:09Z"},
            ["standard", "'TYPE2' is not a valid ConnectorType"],
            id="connector-unknown-standard",
        ),
        pytest.param(
            f"{LOC}/3256/1",
            {"max_voltage": 2_000_000_000, "last_updated": "2019-06-24T12:39:09Z"},
            ["max_voltage 2000000000 × max_amperage", "more than any connector"],
            id="connector-power-beyond-any-connector",
        ),
    ],
)
def test_it_refuses_a_bad_patch_precisely_and_writes_nothing(client, token, stored, path, body, fragments):
    before = network_state()
    assert_refused(call(client, "PATCH", path, token, body=body), 200, 2001, *fragments)
    assert network_state() == before


@pytest.mark.parametrize(
    ("path", "change", "fragments"),
    [
        (f"{LOC}/3256", {"status": "BROKEN"}, ["status", "'BROKEN' is not a valid Status"]),
        (f"{LOC}/3256", {"uid": None}, ["uid"]),
        (f"{LOC}/3256", {"capabilities": "RFID_READER"}, ["capabilities: expected a JSON array"]),
        (f"{LOC}/3256/1", {"max_amperage": "lots"}, ["max_amperage", "integer"]),
        (f"{LOC}/3256/1", {"power_type": None}, ["power_type"]),
    ],
    ids=["evse-unknown-status", "evse-null-uid", "evse-capabilities-not-a-list", "connector-wrong-type", "connector-null-power-type"],
)
def test_it_refuses_a_bad_evse_or_connector_put_precisely_and_writes_nothing(client, token, stored, path, change, fragments):
    evse_body = dict(spec_location()["evses"][0], last_updated="2019-06-24T12:39:09Z")
    body = evse_body if path.endswith("3256") else dict(evse_body["connectors"][0], last_updated="2019-06-24T12:39:09Z")
    body.update(change)
    before = network_state()
    assert_refused(call(client, "PUT", path, token, body=body), 200, 2001, *fragments)
    assert network_state() == before


def test_older_evse_and_connector_puts_are_acknowledged_and_ignored_and_parents_never_move_back(client, token, stored):
    location = Location.objects.get()
    old_evse = dict(spec_location()["evses"][0], status="OUTOFORDER", last_updated="2010-01-01T00:00:00Z")
    old_connector = dict(old_evse["connectors"][0], max_voltage=999, last_updated="2010-01-01T00:00:00Z")
    before = network_state()
    for path, body in ((f"{LOC}/3256", old_evse), (f"{LOC}/3256/1", old_connector)):
        response = call(client, "PUT", path, token, body=body)
        assert response.status_code == 200 and response.json()["status_code"] == 1000
        assert "not applied" in response.json()["status_message"]
    assert network_state() == before
    # A newer connector change moves its parents forward, an EVSE change older than the
    # location's own time leaves the location's time where it was.
    newer = dict(old_connector, max_voltage=400, last_updated="2019-06-24T12:39:09Z")
    assert call(client, "PUT", f"{LOC}/3256/1", token, body=newer).json()["status_code"] == 1000
    moved = Location.objects.get()
    assert moved.last_updated == dt.datetime(2019, 6, 24, 12, 39, 9, tzinfo=dt.UTC) > location.last_updated
    assert evse("3256").last_updated == moved.last_updated
    between = {"status": "CHARGING", "last_updated": "2019-06-24T12:00:00Z"}  # older than what EVSE 3256 now holds
    response = call(client, "PATCH", f"{LOC}/3256", token, body=between)
    assert "not applied" in response.json()["status_message"]
    other_uid = next(e["uid"] for e in spec_location()["evses"] if e["uid"] != "3256")
    between = {"status": "CHARGING", "last_updated": "2019-06-24T12:30:00Z"}  # newer than that EVSE, older than the location
    assert call(client, "PATCH", f"{LOC}/{other_uid}", token, body=between).json()["status_code"] == 1000
    assert evse(other_uid).status == "CHARGING"
    assert Location.objects.get().last_updated == moved.last_updated  # never backwards


def test_a_connector_patch_changes_the_locations_map_summary(client, token, stored):
    before = Location.objects.get()
    body = {"standard": "CHADEMO", "power_type": "DC", "max_electric_power": 150000, "last_updated": "2019-06-24T12:39:09Z"}
    assert call(client, "PATCH", f"{LOC}/3256/1", token, body=body).json()["status_code"] == 1000
    after = Location.objects.get()
    assert after.max_power_kw == Decimal("150.0") != before.max_power_kw
    assert "CHADEMO" in after.connector_standards and "CHADEMO" not in before.connector_standards


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(LOC, {"id": "LOC2", "last_updated": "2019-06-24T12:39:09Z"}, "id", id="location-id"),
        pytest.param(
            LOC, {"country_code": "NL", "last_updated": "2019-06-24T12:39:09Z"}, "country_code", id="country"
        ),
        pytest.param(
            LOC, {"party_id": "XYZ", "last_updated": "2019-06-24T12:39:09Z"}, "party_id", id="party"
        ),
        pytest.param(
            f"{LOC}/3256",
            {"uid": "3257", "status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"},
            "uid",
            id="evse-uid",
        ),
        pytest.param(
            f"{LOC}/3256/1", {"id": "2", "last_updated": "2019-06-24T12:39:09Z"}, "id", id="connector-id"
        ),
    ],
)
def test_it_refuses_a_patch_that_changes_an_id(client, token, stored, path, body, field):
    before = network_state()
    assert_refused(call(client, "PATCH", path, token, body=body), 200, 2001, f"{field}: body has")
    assert network_state() == before


def test_a_put_with_the_same_last_updated_applies_new_content_and_leaves_a_true_repeat_alone(client, token, stored):
    same = spec_location()
    repeat = call(client, "PUT", LOC, token, body=same)
    assert repeat.status_code == 200 and repeat.json()["status_message"] == "Same last_updated as the version we hold; nothing changed."
    assert Location.objects.get().received_at == stored.received_at  # not rewritten

    changed = copy.deepcopy(same)
    changed["name"] = "Gent Zuid (renamed)"
    changed["evses"][0]["status"] = "OUTOFORDER"
    response = call(client, "PUT", LOC, token, body=changed)
    assert response.status_code == 200 and response.json()["status_code"] == 1000, response.json()
    assert "status_message" not in response.json() or "nothing changed" not in response.json()["status_message"]
    location = Location.objects.get()
    assert location.name == "Gent Zuid (renamed)" and location.last_updated == stored.last_updated
    assert evse(changed["evses"][0]["uid"]).status == "OUTOFORDER"
    assert location.available_evse_count == stored.available_evse_count - (same["evses"][0]["status"] == "AVAILABLE")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", f"{LOC}/3256", {"status": "AVAILABLE", "last_updated": "9999-12-31T23:59:59Z"}),
        ("PATCH", f"{LOC}/3256/1", {"max_voltage": 400, "last_updated": "2999-01-01T00:00:00Z"}),
        ("PUT", LOC, spec_location(last_updated="2999-01-01T00:00:00Z")),
    ],
    ids=["evse-patch", "connector-patch", "location-put"],
)
def test_it_refuses_a_last_updated_more_than_a_day_ahead_so_it_cannot_freeze_the_object(client, token, stored, method, path, body):
    before = network_state()
    assert_refused(call(client, method, path, token, body=body), 200, 2001, "last_updated", "more than a day ahead of our clock")
    assert network_state() == before
    # A later honest update still applies.
    ok = call(client, "PATCH", f"{LOC}/3256", token, body={"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"})
    assert ok.json()["status_code"] == 1000 and evse("3256").status == "CHARGING"


def test_it_accepts_a_patch_that_repeats_its_ids(client, token, stored):
    body = {"uid": "3256", "status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}
    assert call(client, "PATCH", f"{LOC}/3256", token, body=body).status_code == 200
    assert evse("3256").status == "CHARGING"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(LOC, spec_location(id="LOC2"), "id", id="location-id"),
        pytest.param(LOC, spec_location(country_code="NL"), "country_code", id="country"),
        pytest.param(LOC, spec_location(party_id="XYZ"), "party_id", id="party"),
        pytest.param(f"{LOC}/3256", spec_location()["evses"][1], "uid", id="evse-uid"),
        pytest.param(f"{LOC}/3256/1", spec_location()["evses"][0]["connectors"][1], "id", id="connector-id"),
    ],
)
def test_it_refuses_a_put_whose_body_ids_disagree_with_the_url(client, token, stored, path, body, field):
    before = network_state()
    assert_refused(call(client, "PUT", path, token, body=body), 200, 2001, f"{field}: body has")
    assert network_state() == before


def test_it_refuses_a_body_over_the_size_limit_with_413(client, token, stored, settings):
    settings.OCPI_MAX_BODY_BYTES = 2_000
    before = network_state()
    body = spec_location(
        name="x" * 200,
        last_updated="2019-06-24T12:39:09Z",
        directions=[{"language": "en", "text": "y" * 500}] * 5,
    )
    assert_refused(call(client, "PUT", LOC, token, body=body), 413, 2001, "limit")
    assert network_state() == before


def test_it_refuses_a_5_mb_body_at_the_default_limit(client, token, stored):
    before = network_state()
    body = spec_location(last_updated="2019-06-24T12:39:09Z", directions=[{"language": "en", "text": "y" * 500}] * 10_000)
    data = json.dumps(body)
    assert len(data) > 5_000_000
    assert_refused(call(client, "PUT", LOC, token, raw=data.encode()), 413, 2001, "limit is 2000000 bytes")
    assert network_state() == before


@pytest.mark.parametrize(
    ("junk", "expected"),
    [(b"[" * 100_000 + b"]" * 100_000, "nested too deeply"), (b"9" * 5000, "a number too long to read")],
    ids=["nested-100000-deep", "5000-digit-number"],
)
@pytest.mark.parametrize("path", [LOC, f"{LOC}/3256", f"{LOC}/3256/1"], ids=["location", "evse", "connector"])
def test_it_answers_json_too_deep_or_too_long_to_read_with_400_not_500(client, token, stored, path, junk, expected):
    before = network_state()
    raw = b'{"last_updated":"2019-06-24T12:39:09Z","x":' + junk + b"}"
    assert_refused(call(client, "PATCH", path, token, raw=raw), 400, 2001, "The body cannot be read", expected)
    assert network_state() == before


def test_it_refuses_a_number_beyond_a_double_even_in_a_field_it_ignores_like_nan(client, token, stored):
    before = network_state()
    raw = json.dumps(spec_location(last_updated="2019-06-24T12:39:09Z", x_vendor={"score": 1})).replace('"score": 1', '"score": 1e400')
    assert_refused(call(client, "PUT", LOC, token, raw=raw.encode()), 200, 2001, "x_vendor.score: 1e400 is beyond the range")
    assert network_state() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_it_answers_invalid_json_with_400(client, token, stored, method):
    before = network_state()
    assert_refused(
        call(client, method, f"{LOC}/3256", token, raw=b'{"status": "CHARGING", '),
        400,
        2001,
        "not valid JSON",
    )
    assert network_state() == before


# Whose objects -----------------------------------------------------------------------------------


def test_it_refuses_pushes_and_reads_under_a_party_not_in_the_callers_roles(client, token, stored):
    before = network_state()
    other = spec_location(country_code="NL", party_id="TNM")
    path = f"{BASE}/NL/TNM/LOC1"

    assert_refused(call(client, "PUT", path, token, body=other), 404, 2000, "NL*TNM is not one of")
    assert_refused(
        call(
            client,
            "PATCH",
            f"{path}/3256",
            token,
            body={"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"},
        ),
        404,
        2000,
    )
    assert_refused(call(client, "GET", path, token), 404, 2000)
    assert network_state() == before


def test_a_hub_pushes_for_each_party_it_represents_and_no_other(client):
    hub, hub_token = connected_partner("NL", "HUB")
    hub.replace_roles(
        [
            dict(role="HUB", country_code="NL", party_id="HUB", business_name="Hub"),
            dict(role="CPO", country_code="BE", party_id="BEC", business_name="Bec via hub"),
            dict(role="CPO", country_code="DE", party_id="ALL", business_name="Allego via hub"),
        ]
    )
    for country, party in (("BE", "BEC"), ("DE", "ALL")):
        body = spec_location(country_code=country, party_id=party)
        response = call(client, "PUT", f"{BASE}/{country}/{party}/LOC1", hub_token, body=body)
        assert response.status_code == 201, response.json()
    assert sorted(Location.objects.filter(partner=hub).values_list("key", flat=True)) == ["BE*BEC*LOC1", "DE*ALL*LOC1"]
    before = network_state()
    stranger = spec_location(country_code="FR", party_id="TNM")
    assert_refused(call(client, "PUT", f"{BASE}/FR/TNM/LOC1", hub_token, body=stranger), 404, 2000, "FR*TNM is not one of")
    assert network_state() == before


def test_it_never_touches_a_location_held_for_another_partner_with_the_same_key(client, token, stored):
    # A second connection (say a hub) that also declares BE*BEC.
    intruder, intruder_token = connected_partner("BE", "BEC")
    assert PartnerRole.objects.filter(country_code="BE", party_id="BEC").count() == 2
    before = network_state()
    status = {"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}

    responses = [
        call(
            client,
            "PUT",
            LOC,
            intruder_token,
            body=spec_location(name="Hijacked", last_updated="2019-06-24T12:39:09Z"),
        ),
        call(
            client,
            "PATCH",
            LOC,
            intruder_token,
            body={"name": "Hijacked", "last_updated": "2019-06-24T12:39:09Z"},
        ),
        call(
            client,
            "PUT",
            f"{LOC}/3256",
            intruder_token,
            body=dict(spec_location()["evses"][0], last_updated="2019-06-24T12:39:09Z"),
        ),
        call(client, "PATCH", f"{LOC}/3256", intruder_token, body=status),
        call(
            client,
            "PATCH",
            f"{LOC}/3256/1",
            intruder_token,
            body={"tariff_ids": ["X"], "last_updated": "2019-06-24T12:39:09Z"},
        ),
        call(client, "GET", LOC, intruder_token),
    ]

    for response in responses:
        assert_refused(response, 404, 2000, "another OCPI connection")
    assert network_state() == before
    assert Location.objects.get().partner != intruder
    assert not any("Hijacked" in str(r.json()) or intruder.name in str(r.json()) for r in responses)


@pytest.mark.parametrize("holder_change", ["drops BE*BEC from its roles", "is unregistered", "is suspended"])
def test_a_location_passes_to_another_connection_once_its_holder_no_longer_claims_the_party(
    client, cpo, stored, holder_change
):
    holder, _ = cpo
    newcomer, newcomer_token = connected_partner("BE", "BEC")
    if holder_change == "drops BE*BEC from its roles":
        holder.replace_roles([dict(role="CPO", country_code="NL", party_id="OLD", business_name="Old")])
    else:
        holder.status = Partner.Status.UNREGISTERED if holder_change == "is unregistered" else Partner.Status.SUSPENDED
        holder.save()
    status = {"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}
    response = call(client, "PATCH", f"{LOC}/3256", newcomer_token, body=status)
    location = Location.objects.get()
    if holder_change == "is suspended":  # a pause by staff is not a hand-over
        assert_refused(response, 404, 2000, "another OCPI connection")
        assert location.partner == holder and evse("3256").status != "CHARGING"
        return
    assert response.status_code == 200 and response.json()["status_code"] == 1000, response.json()
    assert location.partner == newcomer
    assert evse("3256").status == "CHARGING" and location.last_updated == dt.datetime(2019, 6, 24, 12, 39, 9, tzinfo=dt.UTC)
    # From now on the newcomer holds it and the old connection is the one refused.
    holder.status = Partner.Status.CONNECTED
    holder.save()
    holder.replace_roles([dict(role="CPO", country_code="BE", party_id="BEC", business_name="Back")])
    again = call(client, "PATCH", f"{LOC}/3256", token_of(holder), body=dict(status, last_updated="2019-06-24T12:40:00Z"))
    assert_refused(again, 404, 2000, "another OCPI connection")


def token_of(partner: Partner) -> str:
    token = partner.issue_inbound_token()
    partner.save()
    return token


# Transport details ---------------------------------------------------------------------------------


def test_it_refuses_a_registration_token_on_the_locations_module(client):
    partner, _ = connected_partner("BE", "BEC")
    token_a = partner.issue_inbound_token(registration=True)
    partner.save()
    response = call(client, "PUT", LOC, token_a, body=spec_location())
    assert_refused(response, 401, 2000, "token A")
    assert not Location.objects.exists()


def test_it_sets_the_routing_headers_on_locations_responses(client, token, stored):
    response = call(
        client,
        "GET",
        LOC,
        token,
        HTTP_OCPI_FROM_COUNTRY_CODE="BE",
        HTTP_OCPI_FROM_PARTY_ID="BEC",
        HTTP_OCPI_TO_COUNTRY_CODE="NL",
        HTTP_OCPI_TO_PARTY_ID="EXA",
    )
    assert (response["OCPI-from-country-code"], response["OCPI-from-party-id"]) == ("NL", "EXA")
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("BE", "BEC")


@pytest.mark.parametrize("path", [BASE, f"{BASE}/", f"{BASE}/BE/BEC", f"{LOC}/3256/1/extra"])
def test_it_answers_the_module_url_and_malformed_paths_with_a_404_envelope(client, token, path):
    assert_refused(call(client, "GET", path, token), 404, 2000, "/{country_code}/{party_id}/{location_id}")


def test_it_answers_methods_the_receiver_does_not_have_with_405(client, token, stored):
    for method in ("DELETE", "POST"):
        assert_refused(call(client, method, LOC, token), 405, 2000)
    assert Location.objects.exists()


def test_it_publishes_the_locations_and_tariffs_receivers_in_version_details(client, token):
    endpoints = call(client, "GET", "/ocpi/2.2.1", token).json()["data"]["endpoints"]
    assert {
        "identifier": "locations",
        "role": "RECEIVER",
        "url": "http://127.0.0.1:8000/ocpi/2.2.1/locations",
    } in endpoints
    assert {
        "identifier": "tariffs",
        "role": "RECEIVER",
        "url": "http://127.0.0.1:8000/ocpi/2.2.1/tariffs",
    } in endpoints


def test_it_serves_every_url_depth_with_and_without_a_trailing_slash(client, token, stored):
    for path in (LOC, f"{LOC}/3256", f"{LOC}/3256/1"):
        assert call(client, "GET", path + "/", token).status_code == 200
        assert call(client, "GET", path, token).status_code == 200


def test_it_puts_the_first_evse_into_a_location_that_had_none(client, token):
    call(client, "PUT", LOC, token, body=spec_location(evses=None))
    location = Location.objects.get()
    assert (location.evse_count, location.is_visible) == (0, False)
    assert "evses" not in call(client, "GET", LOC, token).json()["data"]

    evse_body = dict(spec_location()["evses"][0], last_updated="2015-07-01T10:00:00Z")
    assert call(client, "PUT", f"{LOC}/3256", token, body=evse_body).status_code == 201

    location.refresh_from_db()
    assert (location.evse_count, location.available_evse_count, location.is_visible) == (1, 1, True)
    assert [e["uid"] for e in call(client, "GET", LOC, token).json()["data"]["evses"]] == ["3256"]


def test_a_patch_that_leaves_out_the_status_keeps_a_removed_evse_removed(client, token, stored):
    """A retirement writes the status column only (raw keeps what the CPO sent): a PATCH merges
    over what we hold, so its status stays REMOVED and the summary does not count it again."""
    body = spec_location(last_updated="2019-06-25T00:00:00Z")
    body["evses"] = [body["evses"][0]]  # 3257 left out: REMOVED
    assert call(client, "PUT", LOC, token, body=body).status_code == 200
    assert evse("3257").status == "REMOVED"
    count = Location.objects.get().evse_count

    assert evse("3257").floor_level != "3"
    # After the retirement, which is stamped with our clock.
    later = ocpi_time(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    response = call(client, "PATCH", f"{LOC}/3257", token, body={"floor_level": "3", "last_updated": later})

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert evse("3257").floor_level == "3" and evse("3257").status == "REMOVED"
    assert Location.objects.get().evse_count == count
    assert call(client, "GET", f"{LOC}/3257", token).json()["data"]["status"] == "REMOVED"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", f"{LOC}%00", "location_id"),
        ("PATCH", f"{LOC}%00", "location_id"),
        ("PUT", f"{LOC}/3256%00", "evse_uid"),
        ("GET", f"{LOC}/3256/1%00", "connector_id"),
    ],
)
def test_a_nul_in_an_id_of_the_url_is_refused_precisely(client, token, stored, method, path, name):
    """PostgreSQL cannot compare text with a NUL in it: without the check this was a 500 there."""
    before = network_state()
    body = None if method == "GET" else {"last_updated": "2019-06-26T00:00:00Z"}
    assert_refused(call(client, method, path, token, body=body), 200, 2001, f"URL's {name} contains a NUL")
    assert network_state() == before


# A status-only PATCH takes a short path (push._write_status): it must write what the general one does.

STATUS_CHANGES = [
    (f"{LOC}/3256", {"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}),
    (f"{LOC}/3257", {"status": "OUTOFORDER", "last_updated": "2019-06-24T12:39:10.250Z"}),
    (f"{LOC}/3256", {"last_updated": "2019-06-24T12:39:00Z", "status": "AVAILABLE"}),  # older: ignored
    (f"{LOC}/3256", {"status": "BLOCKED", "last_updated": "2019-06-24T12:41:00.5Z"}),
    (f"{LOC}/3257", {"status": "REMOVED", "last_updated": "2019-06-24T12:42:00Z"}),
    (f"{LOC}/3256", {"last_updated": "2019-06-24T12:43:00Z"}),  # no status: only moves last_updated forward
]


def _comparable_state() -> dict[str, list[dict[str, Any]]]:
    """Every row, without what differs between two runs of the same changes: the row ids (and
    the ids that name parents) and the time of writing."""
    state = network_state()
    for row in state["Location"]:
        row.pop("received_at")
    for table in state.values():
        for row in table:
            row.pop("id")
            row.pop("location_id", None)
            row.pop("evse_id", None) if "id_key" in row else None
    return state


def _after_status_changes(client, token) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    Location.objects.all().delete()
    assert call(client, "PUT", LOC, token, body=spec_location()).status_code == 201
    EVSE.objects.update(digest=1, connectors_digest=2)  # as a pull leaves them: a push must clear them
    for path, body in STATUS_CHANGES:
        assert call(client, "PATCH", path, token, body=body).json()["status_code"] == 1000
    return held(client, token), _comparable_state()


def test_a_status_only_patch_writes_exactly_what_a_general_patch_writes(client, token, monkeypatch):
    from roaming.services import push

    short = _after_status_changes(client, token)
    monkeypatch.setattr(push, "_STATUS_ONLY", frozenset())  # every PATCH through the general path
    general = _after_status_changes(client, token)

    assert short == general
    document, state = short
    assert [evse["status"] for evse in document["evses"]] == ["BLOCKED", "REMOVED"]
    assert state["Location"][0]["available_evse_count"] == 0 and state["Location"][0]["evse_count"] == 1



def _summary_recomputed(location: Location) -> dict[str, Any]:
    from roaming.services.network import SUMMARY_FIELDS, facts_from_row, summarize

    evses = list(EVSE.objects.filter(location=location).prefetch_related("connectors"))
    recomputed = summarize(publish=location.publish, evses=[facts_from_row(e, list(e.connectors.all())) for e in evses])
    return {name: (getattr(location, name), recomputed[name]) for name in SUMMARY_FIELDS}


_STATUSES = ["AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(["3256", "3257", "9999"]), st.sampled_from(_STATUSES), st.integers(-3, 4), st.sampled_from(["", ".250", ".5"])),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_status_changes_leaves_the_rows_and_the_summary_as_the_general_path_would(client, token, monkeypatch, changes):
    """On PostgreSQL a status change between live statuses is one statement that moves the
    summary by the EVSE's old and new status; the general path recomputes it from every EVSE.
    Random sequences (removals, older and equal times, an unknown EVSE) must end the same."""
    from roaming.services import push

    def run() -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        Location.objects.all().delete()
        assert call(client, "PUT", LOC, token, body=spec_location()).status_code == 201
        clock = dt.datetime(2019, 6, 24, 12, 0, tzinfo=dt.UTC)
        for uid, status, step, fraction in changes:
            clock += dt.timedelta(seconds=step)
            body = {"status": status, "last_updated": clock.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"}
            assert call(client, "PATCH", f"{LOC}/{uid}", token, body=body).status_code in (200, 404)
        location = Location.objects.get()
        assert all(stored == recomputed for stored, recomputed in _summary_recomputed(location).values()), _summary_recomputed(location)
        return held(client, token), _comparable_state()

    with monkeypatch.context() as patch:
        patch.setattr(push, "_status_in_one_statement", lambda *args: False)
        general = run()
    assert run() == general
