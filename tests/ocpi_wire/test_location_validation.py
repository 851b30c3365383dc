"""Locations: what a PUT or a list object must satisfy, PATCH bodies, and URL ↔ body ids."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from roaming.ocpi.v221.common import describe_errors
from roaming.ocpi.v221.locations import (
    Connector,
    ConnectorPatch,
    ConnectorType,
    Evse,
    EvsePatch,
    Hours,
    IdentifierMismatch,
    Location,
    LocationPatch,
    PublishTokenType,
    Status,
    check_patch_identifiers,
    check_put_identifiers,
)

from .paths import example


def location(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(example("location_example.json"))
    data.update(changes)
    return data


def reasons(model: type[BaseModel], data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return describe_errors(caught.value, model)


def test_it_names_the_nested_path_of_an_unknown_enum_value():
    data = location()
    data["evses"][1]["connectors"][0]["power_type"] = "AC_3_PHASES"
    assert reasons(Location, data) == [
        "evses[1].connectors[0].power_type: 'AC_3_PHASES' is not a valid PowerType"
    ]


def test_it_treats_enum_values_as_case_sensitive():
    data = location()
    data["evses"][0]["status"] = "available"
    assert reasons(Location, data) == ["evses[0].status: 'available' is not a valid Status"]
    assert ConnectorType("IEC_60309_2_three_32").value == "IEC_60309_2_three_32"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("publish", "maybe", "publish: expected true or false, got 'maybe'"),
        ("address", 12, "address: expected a string, got 12"),
        ("evses", {"uid": "1"}, "evses: expected a JSON array, got {'uid': '1'}"),
        ("coordinates", "51.0,3.7", "coordinates: expected a JSON object, got '51.0,3.7'"),
        (
            "last_updated",
            "yesterday",
            "last_updated: 'yesterday' is not an OCPI DateTime: expected YYYY-MM-DDTHH:MM:SS[.fff][Z]",
        ),
        ("country", "BE", "country: 'BE' is not an ISO 3166-1 alpha-3 country code"),
        ("time_zone", "CET+1", "time_zone: 'CET+1' is not an IANA time zone (e.g. 'Europe/Oslo')"),
        ("country_code", "BEL", "country_code: 'BEL' is not a 2-letter ISO 3166-1 country code"),
    ],
)
def test_it_rejects_wrong_types_and_values_with_the_field_name(field, value, reason):
    assert reasons(Location, location(**{field: value})) == [reason]


def test_it_rejects_wrong_connector_numbers():
    data = location()
    data["evses"][0]["connectors"][0]["max_voltage"] = "lots"
    data["evses"][0]["connectors"][1]["max_amperage"] = 16.5
    data["evses"][1]["connectors"][0]["max_electric_power"] = -1
    assert reasons(Location, data) == [
        "evses[0].connectors[0].max_voltage: expected an integer, got 'lots'",
        "evses[0].connectors[1].max_amperage: expected an integer, got 16.5",
        "evses[1].connectors[0].max_electric_power: -1 is below the minimum 0",
    ]


def test_it_reads_numbers_sent_as_strings_or_integral_floats():
    data = location()
    data["evses"][0]["connectors"][0].update(max_voltage="230", max_amperage=32.0, max_electric_power="22000")
    connector = Location.model_validate(data).evses[0].connectors[0]  # type: ignore[index]
    assert (connector.max_voltage, connector.max_amperage, connector.max_electric_power) == (230, 32, 22000)


@pytest.mark.parametrize(
    "field",
    [
        "country_code",
        "party_id",
        "id",
        "publish",
        "address",
        "country",
        "coordinates",
        "time_zone",
        "last_updated",
    ],
)
def test_it_rejects_a_location_missing_a_required_field(field):
    data = location()
    del data[field]
    assert reasons(Location, data) == [f"{field}: required field is missing"]


@pytest.mark.parametrize("field", ["id", "standard", "format", "power_type", "last_updated"])
def test_it_rejects_a_connector_missing_a_required_field(field):
    data = location()
    del data["evses"][1]["connectors"][0][field]
    assert reasons(Location, data) == [f"evses[1].connectors[0].{field}: required field is missing"]


def test_it_keeps_a_city_or_a_connector_voltage_and_amperage_it_is_not_told_as_unknown():
    # Required by the spec, optional by product decision: a charger is findable without them.
    data = location(city=None)
    del data["evses"][1]["connectors"][0]["max_voltage"]
    data["evses"][1]["connectors"][0]["max_amperage"] = None
    parsed = Location.model_validate(data)
    connector = parsed.evses[1].connectors[0]  # type: ignore[index]
    assert (parsed.city, connector.max_voltage, connector.max_amperage) == (None, None, None)
    wire = parsed.model_dump(mode="json", exclude_none=True)
    assert "city" not in wire and "max_voltage" not in wire["evses"][1]["connectors"][0]
    # Unknown is not "anything goes": a value that is sent must still be right.
    assert reasons(Location, location(city="x" * 46))[0].startswith("city: ")
    data["evses"][1]["connectors"][0]["max_voltage"] = -230
    assert reasons(Location, data) == ["evses[1].connectors[0].max_voltage: -230 is below the minimum 0"]


def test_it_does_not_read_kilowatts_in_a_pushed_connector():
    # The kW reading of small max_electric_power values is a feed repair (feeds.py), not a model rule.
    data = location()
    data["evses"][0]["connectors"][0]["max_electric_power"] = 22
    assert Location.model_validate(data).evses[0].connectors[0].max_electric_power == 22  # type: ignore[index]


def test_it_rejects_an_evse_without_connectors():
    data = location()
    data["evses"][0]["connectors"] = []
    assert reasons(Location, data) == ["evses[0].connectors: needs at least 1 item(s), got 0"]


def test_it_rejects_out_of_range_coordinates_of_a_location_and_an_evse():
    data = location(coordinates={"latitude": "151.047599", "longitude": "3.729944"})
    data["evses"][0]["coordinates"] = {"latitude": "51.047599", "longitude": "-183.729944"}
    assert reasons(Location, data) == [
        "coordinates.latitude: '151.047599' is out of range for a latitude (-90..90)",
        "evses[0].coordinates.longitude: '-183.729944' is out of range for a longitude (-180..180)",
    ]


def test_it_rejects_duplicate_evse_uids_in_one_location_case_insensitively():
    data = location()
    data["evses"][0]["uid"] = "abc-1"
    data["evses"][1]["uid"] = "ABC-1"
    assert reasons(Location, data) == ["evses[1].uid: duplicate EVSE uid 'ABC-1' (already used at index 0)"]


def test_it_rejects_duplicate_connector_ids_in_one_evse():
    data = location()
    data["evses"][0]["connectors"][1]["id"] = "1"
    assert reasons(Location, data) == [
        "evses[0].connectors[1].id: duplicate connector id '1' (already used at index 0)"
    ]


def test_it_allows_the_same_connector_id_in_different_evses():
    evses = Location.model_validate(location()).evses
    assert evses is not None and evses[0].connectors[0].id == evses[1].connectors[0].id == "1"


def test_it_requires_regular_hours_unless_open_all_the_time():
    assert reasons(Hours, {"twentyfourseven": False}) == [
        "regular_hours: regular_hours needs at least one entry when twentyfourseven is false"
    ]
    assert reasons(
        Hours,
        {
            "twentyfourseven": False,
            "regular_hours": [{"weekday": 8, "period_begin": "08:00", "period_end": "24:00"}],
        },
    ) == [
        "regular_hours[0].weekday: 8 is above the maximum 7",
        "regular_hours[0].period_end: '24:00' is not a time of day as HH:MM (00:00..23:59)",
    ]
    hours = Hours.model_validate(
        {
            "twentyfourseven": False,
            "regular_hours": [{"weekday": 1, "period_begin": "22:00", "period_end": "06:00"}],
        }
    )
    assert hours.model_dump(mode="json", exclude_none=True)["regular_hours"] == [
        {"weekday": 1, "period_begin": "22:00", "period_end": "06:00"}
    ]


def test_it_checks_who_a_publish_token_names():
    PublishTokenType.model_validate({"group_id": "G1"})
    assert reasons(PublishTokenType, {"issuer": "ANWB"}) == [
        "needs at least one of uid, visual_number, group_id"
    ]
    assert reasons(PublishTokenType, {"uid": "12345678905880"}) == ["type: type is required when uid is set"]
    assert reasons(PublishTokenType, {"visual_number": "12345-67"}) == [
        "issuer: issuer is required when visual_number is set"
    ]


def test_it_ignores_unknown_fields_and_null_optionals():
    data = location(cp_id="x", subOperator=None, state=None, facilities=None)
    data["evses"][0]["status_schedule"] = None
    parsed = Location.model_validate(data)
    assert parsed.state is None and parsed.facilities is None
    assert "cp_id" not in parsed.model_dump()


# --------------------------------------------------------------------------- PATCH


def test_it_requires_last_updated_in_every_patch():
    assert reasons(EvsePatch, {"status": "CHARGING"}) == ["last_updated: required field is missing"]
    assert reasons(LocationPatch, {"name": "x"}) == ["last_updated: required field is missing"]
    assert reasons(ConnectorPatch, {"tariff_ids": ["15"]}) == ["last_updated: required field is missing"]


def test_it_keeps_only_the_fields_a_patch_sent():
    patch = EvsePatch.model_validate(example("location_patch_example_status.json"))
    assert patch.status is Status.CHARGING
    assert set(patch.model_dump(exclude_unset=True)) == {"status", "last_updated"}


def test_it_refuses_null_for_a_field_the_full_object_requires():
    assert reasons(EvsePatch, {"status": None, "last_updated": "2019-06-24T12:39:09Z"}) == [
        "status: may be left out of a PATCH but not set to null (required in the full object)"
    ]
    # Optional fields may be cleared with null.
    assert (
        EvsePatch.model_validate({"floor_level": None, "last_updated": "2019-06-24T12:39:09Z"}).floor_level
        is None
    )


def test_it_accepts_null_in_a_patch_for_the_fields_that_may_be_unknown():
    stamp = {"last_updated": "2019-06-24T12:39:09Z"}
    assert LocationPatch.model_validate({"city": None, **stamp}).city is None
    patch = ConnectorPatch.model_validate({"max_voltage": None, "max_amperage": None, **stamp})
    assert patch.model_dump(exclude_unset=True)["max_voltage"] is None
    assert reasons(LocationPatch, {"address": None, **stamp}) == [
        "address: may be left out of a PATCH but not set to null (required in the full object)"
    ]


def test_it_validates_the_values_inside_a_patch():
    assert reasons(ConnectorPatch, {"power_type": "AC_3_PHASES", "last_updated": "2019-06-24T12:39:09Z"}) == [
        "power_type: 'AC_3_PHASES' is not a valid PowerType"
    ]


URL = {"country_code": "BE", "party_id": "BEC", "location_id": "LOC1"}


def test_it_accepts_a_patch_whose_identifiers_equal_the_target():
    check_patch_identifiers(
        LocationPatch.model_validate(
            {"id": "loc1", "country_code": "be", "last_updated": "2019-06-24T12:39:09Z"}
        ),
        **URL,
    )
    check_patch_identifiers(
        EvsePatch.model_validate({"uid": "3256", "last_updated": "2019-06-24T12:39:09Z"}),
        **URL,
        evse_uid="3256",
    )


@pytest.mark.parametrize(
    ("patch", "url", "message"),
    [
        (
            LocationPatch(id="LOC2", last_updated="2019-06-24T12:39:09Z"),
            {},
            "id: body has 'LOC2' but the URL has 'LOC1'",
        ),
        (
            LocationPatch(party_id="XYZ", last_updated="2019-06-24T12:39:09Z"),
            {},
            "party_id: body has 'XYZ' but the URL has 'BEC'",
        ),
        (
            EvsePatch(uid="3257", last_updated="2019-06-24T12:39:09Z"),
            {"evse_uid": "3256"},
            "uid: body has '3257' but the URL has '3256'",
        ),
        (
            ConnectorPatch(id="2", last_updated="2019-06-24T12:39:09Z"),
            {"evse_uid": "3256", "connector_id": "1"},
            "id: body has '2' but the URL has '1'",
        ),
    ],
)
def test_it_refuses_a_patch_that_tries_to_change_an_identifier(patch, url, message):
    with pytest.raises(IdentifierMismatch) as caught:
        check_patch_identifiers(patch, **URL, **url)
    assert str(caught.value) == message


# --------------------------------------------------------------------------- PUT ids vs URL


def test_it_accepts_a_put_whose_ids_match_the_url_case_insensitively():
    body = Location.model_validate(location())
    check_put_identifiers(body, country_code="be", party_id="bec", location_id="loc1")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ({"country_code": "NL", "party_id": "BEC", "location_id": "LOC1"}, "country_code"),
        ({"country_code": "BE", "party_id": "TNM", "location_id": "LOC1"}, "party_id"),
        ({"country_code": "BE", "party_id": "BEC", "location_id": "LOC9"}, "id"),
    ],
)
def test_it_refuses_a_location_put_whose_ids_disagree_with_the_url(url, field):
    with pytest.raises(IdentifierMismatch) as caught:
        check_put_identifiers(Location.model_validate(location()), **url)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: body has ")


def test_it_refuses_an_evse_or_connector_put_whose_id_disagrees_with_the_url():
    evse = Evse.model_validate(location()["evses"][0])
    with pytest.raises(IdentifierMismatch, match="uid: body has '3256' but the URL has '3257'"):
        check_put_identifiers(evse, **URL, evse_uid="3257")
    connector = Connector.model_validate(location()["evses"][0]["connectors"][1])
    with pytest.raises(IdentifierMismatch, match="id: body has '2' but the URL has '1'"):
        check_put_identifiers(connector, **URL, evse_uid="3256", connector_id="1")


def test_it_refuses_a_body_of_the_wrong_depth_for_the_url():
    with pytest.raises(TypeError, match="addresses a EVSE"):
        check_put_identifiers(Location.model_validate(location()), **URL, evse_uid="3256")
