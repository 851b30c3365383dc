"""A Sender's list page: liberal where the meaning is clear, strict (per object) where it is not."""

from __future__ import annotations

import copy
import datetime as dt
import json
from enum import StrEnum
from typing import Any

import orjson
import pytest

from roaming.ocpi.v221.common import enum_by_name
from roaming.ocpi.v221.feeds import (
    Decoded,
    FeedDecodeError,
    FeedStatusError,
    FloatReader,
    PageResult,
    Reject,
    _parse,
    decode_object,
    decode_page,
)
from roaming.ocpi.v221.locations import ConnectorType, PowerType, Status

from .paths import EXAMPLES, REAL_FEEDS, example


def location(id: str = "LOC1", **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(example("location_example.json"))
    data["id"] = id
    data.update(changes)
    return data


def page(*objects: Any, **envelope: Any) -> bytes:
    body = {"data": list(objects), "status_code": 1000, "timestamp": "2024-06-06T09:17:21Z", **envelope}
    return json.dumps(body).encode()


def only(result: Any) -> Decoded[Any]:
    assert result.rejects == [], [r.reason for r in result.rejects]
    (decoded,) = result.decoded
    return decoded


# --------------------------------------------------------------------------- page level


def test_it_reads_a_clean_page_with_its_envelope():
    result = decode_page(page(location("A"), location("B"), status_message="OK"), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["A", "B"]
    assert all(d.warnings == () for d in result.decoded)
    assert (result.status_code, result.status_message) == (1000, "OK")
    assert result.timestamp == dt.datetime(2024, 6, 6, 9, 17, 21, tzinfo=dt.UTC)
    assert result.page_warnings == []


def test_it_keeps_the_rest_of_the_page_when_one_object_is_bad():
    bad = location("B")
    bad["evses"][1]["connectors"][0]["power_type"] = "AC_3_PHASES"
    result = decode_page(page(location("A"), bad, location("C")), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["A", "C"]
    assert [d.index for d in result.decoded] == [0, 2]
    assert result.rejects == [
        Reject(
            index=1,
            object_id="B",
            country_code="BE",
            party_id="BEC",
            reason="evses[1].connectors[0].power_type: 'AC_3_PHASES' is not a valid PowerType",
            raw=bad,
        )
    ]


def test_it_accepts_a_byte_order_mark_and_a_bare_array():
    result = decode_page(b"\xef\xbb\xbf\n " + json.dumps([location()]).encode() + b"\n", kind="locations")
    only(result)
    assert result.page_warnings == [
        "body starts with a UTF-8 byte order mark (ignored)",
        "bare JSON array without the OCPI response envelope",
    ]
    assert result.status_code is None


def test_it_accepts_missing_and_odd_envelope_fields():
    result = decode_page(
        json.dumps({"data": [location()], "status_code": "Success"}).encode(), kind="locations"
    )
    only(result)
    assert result.status_code is None
    assert result.page_warnings == [
        "status_code 'Success' is not a number (ignored)",
        "envelope has no timestamp",
    ]
    result = decode_page(
        json.dumps({"data": [], "status_code": "1000", "timestamp": "2023-05-08T01:58:08.3812354+00:00"}),
        kind="locations",
    )
    assert result.status_code == 1000
    assert result.timestamp == dt.datetime(2023, 5, 8, 1, 58, 8, 381235, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "body is HTML/XML, not JSON"),
        (page(location())[:-40], "body is not valid JSON"),
        (b"", "body is empty"),
        (b"   \n", "body is empty"),
        (b"\xff\xfe{}", "body is not UTF-8"),
        (b'"locations"', "expected the OCPI envelope or a JSON array, got str"),
        (
            json.dumps({"data": location(), "status_code": 1000}).encode(),
            "envelope data is a dict, expected a list",
        ),
        (json.dumps(location()).encode(), "body is a single object, expected a list page"),
        (json.dumps({"status_code": 1000}).encode(), "envelope has no data field"),
    ],
)
def test_it_raises_a_typed_error_for_a_page_that_cannot_be_read(body, message):
    with pytest.raises(FeedDecodeError) as caught:
        decode_page(body, kind="locations")
    assert str(caught.value).startswith(message)


def test_it_raises_for_an_ocpi_error_envelope_instead_of_returning_an_empty_page():
    body = json.dumps(
        {"status_code": 2001, "status_message": "Invalid date_from", "timestamp": "2024-01-01T00:00:00Z"}
    )
    with pytest.raises(FeedStatusError) as caught:
        decode_page(body.encode(), kind="tariffs")
    assert (caught.value.status_code, caught.value.status_message) == (2001, "Invalid date_from")
    assert str(caught.value) == "OCPI error 2001: Invalid date_from"


def test_it_reports_that_a_truncated_body_looks_truncated():
    with pytest.raises(FeedDecodeError, match=r"truncated"):
        decode_page(page(location())[:-2], kind="locations")


# --------------------------------------------------------------------------- liberal


def test_it_strips_whitespace_in_enum_values_and_ids_silently():
    data = location(id=" LOC1 ", party_id="BEC ")
    data["evses"][0].update(uid=" 3256", status=" AVAILABLE ")
    data["evses"][0]["connectors"][0]["standard"] = "IEC_62196_T2\t"
    decoded = only(decode_page(page(data), kind="locations"))
    assert (decoded.obj.id, decoded.obj.party_id) == ("LOC1", "BEC")
    evse = decoded.obj.evses[0]  # type: ignore[index]
    assert (evse.uid, evse.status, evse.connectors[0].standard) == (
        "3256",
        Status.AVAILABLE,
        ConnectorType.IEC_62196_T2,
    )
    assert decoded.warnings == ()


def test_it_maps_enum_values_in_the_wrong_case_when_the_mapping_is_unique():
    data = location()
    data["evses"][0]["status"] = "available"
    data["evses"][0]["connectors"][0].update(standard="IEC_60309_2_THREE_32", power_type="ac_3_phase")
    data["parking_type"] = "On_Street"
    decoded = only(decode_page(page(data), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]  # type: ignore[index]
    assert connector.standard is ConnectorType.IEC_60309_2_three_32
    assert connector.power_type is PowerType.AC_3_PHASE
    assert decoded.warnings == (
        "parking_type: 'On_Street' read as 'ON_STREET' (enum values are case-sensitive)",
        "evses[0].status: 'available' read as 'AVAILABLE' (enum values are case-sensitive)",
        "evses[0].connectors[0].standard: 'IEC_60309_2_THREE_32' read as 'IEC_60309_2_three_32' (enum values are case-sensitive)",
        "evses[0].connectors[0].power_type: 'ac_3_phase' read as 'AC_3_PHASE' (enum values are case-sensitive)",
    )


def test_it_does_not_guess_between_values_that_differ_only_in_case():
    class Mixed(StrEnum):
        LOWER = "three"
        UPPER = "THREE"
        OTHER = "Other"

    assert enum_by_name(Mixed) == {"other": Mixed.OTHER}


def test_it_reads_numbers_sent_as_strings_and_integers_sent_as_floats():
    data = location()
    data["evses"][0]["connectors"][0].update(max_voltage="230", max_amperage=16.0, max_electric_power="22000")
    decoded = only(decode_page(page(data), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]  # type: ignore[index]
    assert (connector.max_voltage, connector.max_amperage, connector.max_electric_power) == (230, 16, 22000)


def test_it_reads_coordinates_sent_as_json_numbers_and_says_so():
    data = location(coordinates={"latitude": 40.579958, "longitude": -8.58191123})
    decoded = only(decode_page(page(data), kind="locations"))
    assert (decoded.obj.coordinates.latitude, decoded.obj.coordinates.longitude) == (
        "40.579958",
        "-8.5819112",
    )
    assert decoded.warnings == (
        "coordinates.latitude: sent as a JSON number 40.579958, not a string",
        "coordinates.longitude: a JSON number has 8 decimals rounded to 7 (-8.5819112)",
    )


def test_it_reads_datetimes_without_z_or_with_a_zero_offset_silently_and_converts_other_offsets():
    data = location(last_updated="2015-06-29T20:39:09")
    data["evses"][0]["last_updated"] = "2015-06-28T08:12:01+00:00"
    data["evses"][1]["last_updated"] = "2015-06-29T22:39:09+02:00"
    decoded = only(decode_page(page(data), kind="locations"))
    evses = decoded.obj.evses or []
    assert decoded.obj.last_updated == dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=dt.UTC)
    assert evses[1].last_updated == dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=dt.UTC)
    assert decoded.warnings == (
        "evses[1].last_updated: '2015-06-29T22:39:09+02:00' is not UTC; converted to 2015-06-29T20:39:09Z",
    )


def test_it_defaults_what_the_feed_itself_implies_and_records_each_repair():
    data = location()
    del data["publish"]
    del data["evses"][0]["last_updated"]
    del data["evses"][1]["connectors"][0]["last_updated"]
    decoded = only(decode_page(page(data), kind="locations"))
    evses = decoded.obj.evses or []
    assert decoded.obj.publish is True
    assert evses[0].last_updated == decoded.obj.last_updated
    assert evses[1].connectors[0].last_updated == evses[1].last_updated
    assert decoded.warnings == (
        "publish: missing; assumed true (published to everyone)",
        "evses[0].last_updated: missing; taken from the location",
        "evses[1].connectors[0].last_updated: missing; taken from the EVSE",
    )


def test_it_reads_a_placeholder_last_updated_as_unknown():
    data = location()
    data["evses"][0]["connectors"][1]["last_updated"] = "0001-01-01T00:00:00"
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.evses[0].connectors[1].last_updated == decoded.obj.evses[0].last_updated  # type: ignore[index]
    assert decoded.warnings == (
        "evses[0].connectors[1].last_updated: '0001-01-01T00:00:00' is a placeholder; taken from the EVSE",
    )
    (reject,) = decode_page(page(location(last_updated="0001-01-01T00:00:00")), kind="locations").rejects
    assert (
        reject.reason
        == "last_updated: '0001-01-01T00:00:00' is not an OCPI DateTime: a placeholder (before 1970), not a time"
    )


def test_it_reads_ocpi_211_connector_fields():
    data = location()
    connector = data["evses"][1]["connectors"][0]
    connector["voltage"] = connector.pop("max_voltage")
    connector["amperage"] = connector.pop("max_amperage")
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.evses[1].connectors[0].max_voltage == 220  # type: ignore[index]
    assert decoded.warnings == (
        "evses[1].connectors[0].max_voltage: missing; taken from the OCPI 2.1.1 field 'voltage'",
        "evses[1].connectors[0].max_amperage: missing; taken from the OCPI 2.1.1 field 'amperage'",
    )


def test_it_fixes_country_and_time_zone_spellings():
    decoded = only(decode_page(page(location(country="be", time_zone="europe/brussels")), kind="locations"))
    assert (decoded.obj.country, decoded.obj.time_zone) == ("BEL", "Europe/Brussels")
    assert decoded.warnings == (
        "time_zone: 'europe/brussels' read as 'Europe/Brussels'",
        "country: 'be' read as ISO 3166-1 alpha-3 'BEL'",
    )


def test_it_infers_a_missing_country_only_from_a_single_country_time_zone():
    lisbon = location("PT1", time_zone="Europe/Lisbon")
    del lisbon["country"]
    brussels = location("BE1")  # Europe/Brussels also serves NL and LU in tzdata's zone1970.tab
    del brussels["country"]
    result = decode_page(page(lisbon, brussels), kind="locations")
    (decoded,) = result.decoded
    assert decoded.obj.country == "PRT"
    assert decoded.warnings == (
        "country: missing; 'PRT' is the only country using time_zone 'Europe/Lisbon'",
    )
    assert [r.reason for r in result.rejects] == ["country: required field is missing"]


# --------------------------------------------------------------------------- unknown values, kW, countries


def test_it_keeps_a_location_without_city_and_says_so():
    data = location()
    del data["city"]
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.city is None  # not cut out of the address
    assert decoded.warnings == ("city: missing; kept as unknown (not guessed from the address)",)


def test_it_keeps_connectors_without_voltage_or_amperage_and_says_so():
    data = location()
    del data["evses"][0]["connectors"][1]["max_voltage"]
    data["evses"][0]["connectors"][1]["max_amperage"] = None
    decoded = only(decode_page(page(data), kind="locations"))
    connector = decoded.obj.evses[0].connectors[1]  # type: ignore[index]
    assert (connector.max_voltage, connector.max_amperage) == (None, None)
    assert decoded.warnings == (
        "evses[0].connectors[1].max_voltage: missing; kept as unknown",
        "evses[0].connectors[1].max_amperage: missing; kept as unknown",
    )


@pytest.mark.parametrize(
    ("sent", "watts", "warning"),
    [
        (150, 150000, "150 read as kW (150000 W)"),
        (7.4, 7400, "7.4 read as kW (7400 W)"),
        (62.5, 62500, "62.5 read as kW (62500 W)"),
        ("22", 22000, "22 read as kW (22000 W)"),
        (999, 999000, "999 read as kW (999000 W)"),
        # Watts as the spec says: unchanged and silent.
        (1000, 1000, None),
        (22000, 22000, None),
        ("350000", 350000, None),
        # No connector is rated 0 W: a feed's "unknown".
        (0, None, "0 read as unknown"),
    ],
)
def test_it_reads_a_max_electric_power_below_1000_as_kilowatts(sent, watts, warning):
    data = location()
    data["evses"][1]["connectors"][0]["max_electric_power"] = sent
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.evses[1].connectors[0].max_electric_power == watts  # type: ignore[index]
    expected = () if warning is None else (f"evses[1].connectors[0].max_electric_power: {warning}",)
    assert decoded.warnings == expected


def test_it_checks_objects_that_are_valid_as_sent_for_kilowatts_and_unknowns_one_at_a_time_too():
    # 22 is a valid int, so strict validation alone would keep 22 W: the typed object is checked.
    data = location()
    data["evses"][0]["connectors"][0]["max_electric_power"] = 22
    decoded = decode_object(data, kind="locations")
    assert isinstance(decoded, Decoded)
    assert decoded.obj.evses[0].connectors[0].max_electric_power == 22000  # type: ignore[index]
    assert decoded.warnings == ("evses[0].connectors[0].max_electric_power: 22 read as kW (22000 W)",)
    # Valid as sent: the object as received is kept too (it becomes the stored raw copy).
    assert decode_object(location(), kind="locations") == Decoded(
        0, decoded.obj.__class__.model_validate(location()), (), location()
    )
    assert decoded.source is None  # repaired: the raw copy is the repaired object, not what was sent


@pytest.mark.parametrize(("sent", "alpha3"), [("RU", "RUS"), ("PL", "POL"), ("tr", "TUR"), ("nld", "NLD")])
def test_it_reads_an_alpha2_or_lower_case_country_as_alpha3(sent, alpha3):
    decoded = only(decode_page(page(location(country=sent)), kind="locations"))
    assert decoded.obj.country == alpha3
    assert decoded.warnings == (f"country: {sent!r} read as ISO 3166-1 alpha-3 {alpha3!r}",)


def test_it_reads_a_currency_code_as_the_partys_country_and_takes_its_only_time_zone():
    data = location(country_code="TR", party_id="TGR", country="TRY")
    del data["time_zone"]
    decoded = only(decode_page(page(data), kind="locations"))
    assert (decoded.obj.country, decoded.obj.time_zone) == ("TUR", "Europe/Istanbul")
    assert decoded.warnings == (
        "country: 'TRY' is not ISO 3166-1 alpha-3; used TUR from country_code TR",
        "time_zone: missing; 'Europe/Istanbul' is the only time zone of TUR",
    )


@pytest.mark.parametrize(
    ("country_code", "country", "reason"),
    [
        # A name, in whatever language, is not a code; ev24 sends this.
        ("PL", "Polska", "country: 'Polska' should have at most 3 characters"),
        ("PL", "POLAND", "country: 'POLAND' should have at most 3 characters"),
        # Not the party's code: an NL operator's site may well be in Germany (IOC "GER").
        ("NL", "GER", "country: 'GER' is not an ISO 3166-1 alpha-3 country code"),
        ("DE", "GER", "country: 'GER' is not an ISO 3166-1 alpha-3 country code"),
    ],
)
def test_it_does_not_replace_a_country_that_does_not_name_the_partys(country_code, country, reason):
    result = decode_page(page(location(country_code=country_code, country=country)), kind="locations")
    assert [r.reason for r in result.rejects] == [reason]


@pytest.mark.parametrize(
    ("country", "zone"), [("POL", "Europe/Warsaw"), ("PL", "Europe/Warsaw"), ("NLD", "Europe/Amsterdam")]
)
def test_it_takes_a_missing_time_zone_from_a_country_with_only_one(country, zone):
    data = location(country=country)
    del data["time_zone"]
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.time_zone == zone
    assert (
        decoded.warnings[-1] == f"time_zone: missing; {zone!r} is the only time zone of {decoded.obj.country}"
    )


@pytest.mark.parametrize(
    ("country", "reason"),
    [
        ("RUS", "time_zone: required field is missing (RUS has 26 time zones, not guessed)"),
        ("USA", "time_zone: required field is missing (USA has 29 time zones, not guessed)"),
        # Büsingen has a zone of its own in tzdata: Germany is not guessed either.
        ("DEU", "time_zone: required field is missing (DEU has 2 time zones, not guessed)"),
        ("BVT", "time_zone: required field is missing (no time zone is known for BVT)"),
    ],
)
def test_it_does_not_guess_the_time_zone_of_a_country_with_several(country, reason):
    data = location(country=country)
    del data["time_zone"]
    assert [r.reason for r in decode_page(page(data), kind="locations").rejects] == [reason]


def test_it_does_not_take_a_time_zone_from_the_partys_country_code_alone():
    data = location(country_code="PL")  # Poland has one zone, but the site's country is unknown
    del data["time_zone"]
    del data["country"]
    (reject,) = decode_page(page(data), kind="locations").rejects
    assert reject.reason == "country: required field is missing; time_zone: required field is missing"
    data = location(country_code="PL", country=None, time_zone=" ")
    (reject,) = decode_page(page(data), kind="locations").rejects
    assert reject.reason.startswith("country: required field is null; ")


def zero_based_week(twentyfourseven: bool) -> dict[str, Any]:
    days = [{"weekday": day, "period_begin": "08:00", "period_end": "20:00"} for day in range(7)]
    return {"twentyfourseven": twentyfourseven, "regular_hours": days}


def test_it_drops_opening_times_that_count_weekdays_from_zero():
    data = location(opening_times=zero_based_week(False))
    data["opening_times"]["regular_hours"][3]["period_end"] = "вы:ходной"  # dropped along with the rest
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.opening_times is None  # unknown hours, not "closed"
    assert decoded.warnings == (
        "opening_times: dropped, hours unknown (not closed): regular_hours[0].weekday is 0: the feed counts "
        "weekdays from 0, not 1=Monday..7=Sunday, so none of its weekdays can be trusted",
    )


def test_it_keeps_twentyfourseven_when_only_its_regular_hours_count_from_zero():
    decoded = only(decode_page(page(location(opening_times=zero_based_week(True))), kind="locations"))
    assert decoded.obj.opening_times is not None
    assert (decoded.obj.opening_times.twentyfourseven, decoded.obj.opening_times.regular_hours) == (
        True,
        None,
    )
    assert decoded.warnings == (
        "opening_times.regular_hours: dropped (regular_hours[0].weekday is 0: the feed counts weekdays "
        "from 0, not 1=Monday..7=Sunday, so none of its weekdays can be trusted); the location is open 24/7",
    )


def test_it_keeps_rejecting_placeholder_coordinates():
    data = location(coordinates={"latitude": "0", "longitude": "0"})
    (reject,) = decode_page(page(data), kind="locations").rejects
    assert reject.reason == (
        "coordinates.latitude: '0' is not a latitude in decimal degrees with 5 to 7 decimals; "
        "coordinates.longitude: '0' is not a longitude in decimal degrees with 5 to 7 decimals"
    )


def test_it_drops_an_evse_without_connectors_and_keeps_error_paths_on_the_original_indices():
    empty = location()["evses"][0] | {"uid": "EMPTY", "connectors": []}
    good = location()
    good["evses"].insert(0, empty)
    bad = copy.deepcopy(good)
    bad["id"] = "LOC2"
    bad["evses"][2]["connectors"][0]["format"] = "PLUG"
    result = decode_page(page(good, bad), kind="locations")
    (decoded,) = result.decoded
    assert [e.uid for e in decoded.obj.evses or []] == ["3256", "3257"]
    assert decoded.warnings == (
        "evses[0]: EVSE uid 'EMPTY' (status 'AVAILABLE') dropped: it has no connectors",
    )
    assert [r.reason for r in result.rejects] == [
        "evses[2].connectors[0].format: 'PLUG' is not a valid ConnectorFormat"
    ]


def test_it_cuts_an_overlong_physical_reference_and_says_so():
    data = location()
    data["evses"][0]["physical_reference"] = "BAY 01 (Pingalax001)"
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.evses[0].physical_reference == "BAY 01 (Pingalax"  # type: ignore[index]
    assert decoded.warnings == (
        "evses[0].physical_reference: 'BAY 01 (Pingalax001)' is longer than 16 characters; cut to 'BAY 01 (Pingalax'",
    )


def test_it_never_changes_the_raw_page_objects():
    data = location(country="be")
    del data["publish"]
    snapshot = copy.deepcopy(data)
    body = page(data)
    result = decode_page(body, kind="locations")
    assert result.decoded[0].obj.country == "BEL"
    assert json.loads(body)["data"][0] == snapshot


# --------------------------------------------------------------------------- strict


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d["evses"][0].update(status="BROKEN"), "evses[0].status: 'BROKEN' is not a valid Status"),
        (
            lambda d: d["evses"][0]["connectors"][0].update(standard="GB/T (DC)"),
            "evses[0].connectors[0].standard: 'GB/T (DC)' is not a valid ConnectorType",
        ),
        (
            lambda d: d.update(coordinates={"latitude": "95.000000", "longitude": "3.729944"}),
            "coordinates.latitude: '95.000000' is out of range for a latitude (-90..90)",
        ),
        (
            lambda d: d.update(coordinates={"latitude": "1", "longitude": "1"}),
            "coordinates.latitude: '1' is not a latitude in decimal degrees with 5 to 7 decimals; coordinates.longitude: '1' is not a longitude in decimal degrees with 5 to 7 decimals",
        ),
        (
            lambda d: d.update(coordinates={"latitude": "0.000000", "longitude": "0.00000"}),
            "coordinates: coordinates 0,0 are a placeholder for 'unknown', not a place",
        ),
        (
            lambda d: d.update(coordinates={"latitude": 0, "longitude": 3.729944}),
            "coordinates.latitude: '0' is not a latitude in decimal degrees with 5 to 7 decimals",
        ),
        (lambda d: d.update(party_id=None), "party_id: required field is null"),
        # TRY does not begin with this party's country_code BE: not replaced.
        (lambda d: d.update(country="TRY"), "country: 'TRY' is not an ISO 3166-1 alpha-3 country code"),
        (
            lambda d: d.update(last_updated="29.06.2015"),
            "last_updated: '29.06.2015' is not an OCPI DateTime: expected YYYY-MM-DDTHH:MM:SS[.fff][Z]",
        ),
        (
            lambda d: d["evses"][1].update(uid="3256"),
            "evses[1].uid: duplicate EVSE uid '3256' (already used at index 0)",
        ),
        (
            lambda d: d["evses"][0]["connectors"][0].update(max_electric_power=22000.5),
            "evses[0].connectors[0].max_electric_power: expected an integer, got 22000.5",
        ),
        (
            lambda d: d["evses"][0]["connectors"][0].update(max_electric_power=-7.4),
            "evses[0].connectors[0].max_electric_power: expected an integer, got -7.4",
        ),
        (
            lambda d: d.update(
                opening_times={
                    "twentyfourseven": False,
                    "regular_hours": [{"weekday": 8, "period_begin": "08:00", "period_end": "20:00"}],
                }
            ),
            "opening_times.regular_hours[0].weekday: 8 is above the maximum 7",
        ),
    ],
)
def test_it_rejects_an_object_whose_meaning_is_ambiguous(mutate, reason):
    data = location()
    mutate(data)
    result = decode_page(page(location("OK"), data), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["OK"]
    (reject,) = result.rejects
    assert (reject.index, reject.object_id, reject.reason) == (1, "LOC1", reason)


def test_it_rejects_a_list_item_that_is_not_an_object():
    result = decode_page(page(location(), "LOC2", None), kind="locations")
    assert [(r.index, r.reason) for r in result.rejects] == [
        (1, "expected a JSON object, got str"),
        (2, "expected a JSON object, got NoneType"),
    ]


def test_it_lists_at_most_eight_reasons_per_object():
    data = location()
    for evse in data["evses"]:
        for connector in evse["connectors"]:
            connector.update(standard="X", format="Y", power_type="Z")
    (reject,) = decode_page(page(data), kind="locations").rejects
    assert reject.reason.count(";") == 8
    assert reject.reason.endswith("(and 1 more)")


# --------------------------------------------------------------------------- tariffs and single objects


def test_it_decodes_a_tariff_page():
    tariffs = [example(p.name) for p in sorted(EXAMPLES.glob("tariff*.json"))]
    tariffs[0]["currency"] = "eur"
    result = decode_page(page(*tariffs), kind="tariffs")
    assert len(result.decoded) == 19
    (reject,) = result.rejects
    assert (reject.object_id, reject.reason) == (
        "12",
        "last_updated: required field is missing",
    )  # tariff_put_example
    assert result.decoded[0].warnings == ("currency: 'eur' read as 'EUR'",)


def test_it_decodes_one_object_with_the_same_tolerance():
    data = location()
    data["evses"][0]["status"] = "charging"
    decoded = decode_object(data, kind="locations")
    assert isinstance(decoded, Decoded)
    assert decoded.obj.evses[0].status is Status.CHARGING  # type: ignore[index]
    rejected = decode_object({"id": "X"}, kind="tariffs", index=7)
    assert isinstance(rejected, Reject)
    assert rejected.index == 7
    assert rejected.reason.startswith(
        "country_code: required field is missing; party_id: required field is missing"
    )


def test_it_reads_an_image_mime_type_as_the_ocpi_file_type():
    image = {"url": "https://cpo.example/a.jpg", "category": "LOCATION", "type": "image/jpeg"}
    decoded = only(decode_page(page(location(images=[image])), kind="locations"))
    assert decoded.obj.images[0].type == "jpeg"
    assert "images[0].type: MIME type 'image/jpeg' read as 'jpeg'" in decoded.warnings
    upper = only(decode_page(page(location(images=[{**image, "type": "IMAGE/PNG"}])), kind="locations"))
    assert upper.obj.images[0].type == "PNG"


@pytest.mark.parametrize("kind", ["image/svg+xml", "application/pdf", "image/"])
def test_it_still_rejects_an_image_type_that_is_not_a_short_file_type(kind):
    image = {"url": "https://cpo.example/a", "category": "LOCATION", "type": kind}
    result = decode_page(page(location(images=[image])), kind="locations")
    assert not result.decoded
    assert "images[0].type" in result.rejects[0].reason


def test_an_object_with_a_nul_character_is_refused_with_its_path_and_the_rest_kept():
    bad = location("LOC2")
    bad["evses"][0]["connectors"][0]["terms_and_conditions"] = "https://x.test/\x00"
    result = decode_page(page(location("LOC1"), bad), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["LOC1"]
    (reject,) = result.rejects
    assert reject.object_id == "LOC2"
    assert reject.reason.startswith("evses[0].connectors[0].terms_and_conditions: contains a NUL character")
    assert "\x00" not in json.dumps(reject.raw, ensure_ascii=False)
    assert isinstance(decode_object(bad, kind="locations"), Reject)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_an_object_with_nan_or_infinity_even_in_an_ignored_field_is_refused(token):
    text = page(location("LOC1"), location("LOC2")).decode().replace('"id": "LOC2"', f'"id": "LOC2", "x_vendor": {{"v": {token}}}', 1)
    assert token in text
    result = decode_page(text.encode(), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["LOC1"]
    (reject,) = result.rejects
    assert reject.reason == f"x_vendor.v: {token} is not a JSON number"
    assert reject.raw["x_vendor"] == {"v": token}  # kept for staff, as a string


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_last_updated_more_than_a_day_ahead_rejects_its_object_with_the_path():
    now = dt.datetime.now(dt.UTC)
    far = location("FAR")
    far["evses"][1]["last_updated"] = "9999-12-31T23:59:59Z"  # would freeze the EVSE's status
    skewed = location("SKEWED", last_updated=_stamp(now + dt.timedelta(hours=14)))  # local time sent as Z: kept
    tomorrow = location("TOMORROW", last_updated=_stamp(now + dt.timedelta(days=1, minutes=5)))
    result = decode_page(page(far, skewed, tomorrow), kind="locations")
    assert [d.obj.id for d in result.decoded] == ["SKEWED"]
    reasons = {r.object_id: r.reason for r in result.rejects}
    assert reasons["FAR"] == (
        "evses[1].last_updated: 9999-12-31T23:59:59Z is more than a day ahead of our clock:"
        " every later update would look older and be ignored"
    )
    assert reasons["TOMORROW"].startswith("last_updated: ") and "more than a day ahead" in reasons["TOMORROW"]


def test_a_number_beyond_a_double_refuses_its_object_instead_of_being_stored_as_null():
    bad = location("HUGE")
    bad["x_vendor"] = {"score": 1}  # replaced by 1e400 in the text below
    text = page(location("OK"), bad).replace(b'"score": 1', b'"score": 1e400')
    result = decode_page(text, kind="locations")
    assert [d.obj.id for d in result.decoded] == ["OK"]
    (reject,) = result.rejects
    assert reject.reason == "x_vendor.score: 1e400 is beyond the range of numbers that can be stored"
    assert reject.raw["x_vendor"]["score"] == "1e400"  # kept for staff, as sent


# Found by an audit of the real feeds (2026-11-22) ------------------------------------------------


def test_weekdays_counted_from_zero_with_the_same_hours_every_day_are_those_hours_every_day():
    data = location(
        opening_times={
            "twentyfourseven": False,
            "regular_hours": [{"weekday": day, "period_begin": "07:00", "period_end": "23:00"} for day in range(7)],
        }
    )
    decoded = only(decode_page(page(data), kind="locations"))
    hours = decoded.obj.opening_times.regular_hours
    assert [h.weekday for h in hours] == [1, 2, 3, 4, 5, 6, 7]
    assert {(h.period_begin, h.period_end) for h in hours} == {(dt.time(7), dt.time(23))}
    assert decoded.warnings == (
        "opening_times.regular_hours: weekdays counted 0..6, each with the same hours: read as those hours"
        " every day (1=Monday..7=Sunday)",
    )


def test_weekdays_counted_from_zero_with_other_weekend_hours_stay_unknown():
    data = location(
        opening_times={
            "twentyfourseven": False,
            "regular_hours": [
                {"weekday": day, "period_begin": "07:00", "period_end": "23:00" if day < 5 else "20:00"} for day in range(7)
            ],
        }
    )
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.opening_times is None
    assert decoded.warnings[0].startswith("opening_times: dropped, hours unknown (not closed)")


def _legacy_connector(**fields: Any) -> dict[str, Any]:
    data = location()
    connector = data["evses"][0]["connectors"][0]
    for name in ("max_voltage", "max_amperage", "max_electric_power"):
        connector.pop(name, None)
    connector.update(fields)
    return data


def test_a_2_1_1_voltage_under_100_with_0_amperes_is_the_power_in_kw():
    decoded = only(decode_page(page(_legacy_connector(voltage=22, amperage=0)), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage, connector.max_electric_power) == (None, None, 22000)
    assert (
        "evses[0].connectors[0].max_electric_power: OCPI 2.1.1 voltage 22 with amperage 0 read as 22 kW (22000 W);"
        " voltage and amperage unknown"
    ) in decoded.warnings


def test_a_2_1_1_voltage_and_amperage_that_make_sense_are_taken_as_they_are():
    decoded = only(decode_page(page(_legacy_connector(voltage=230, amperage=32)), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage, connector.max_electric_power) == (230, 32, None)


def test_a_2_1_1_voltage_under_100_with_amperes_is_no_rating_and_stays_unknown():
    # toger sends "voltage": 22, "amperage": 32 on a 22 kW socket: it was stored as 22 V.
    decoded = only(decode_page(page(_legacy_connector(voltage=22, amperage=32)), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage, connector.max_electric_power) == (None, 32, None)
    assert "evses[0].connectors[0].max_voltage: 22 V is no charger's rating (below 100 V); kept as unknown" in decoded.warnings


def test_a_2_2_1_max_voltage_under_100_is_no_rating_either():
    data = location()
    data["evses"][0]["connectors"][0].update(max_voltage=11, max_amperage=16)
    connector = only(decode_page(page(data), kind="locations")).obj.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage) == (None, 16)


@pytest.mark.parametrize(("voltage", "amperage"), [(120, 0), (0, 0), (0, 32)])
def test_a_2_1_1_zero_is_unknown_as_a_2_2_1_zero_is(voltage, amperage):
    decoded = only(decode_page(page(_legacy_connector(voltage=voltage, amperage=amperage)), kind="locations"))
    connector = decoded.obj.evses[0].connectors[0]
    assert (connector.max_voltage, connector.max_amperage) == (voltage or None, amperage or None)
    zero = "amperage" if amperage == 0 else "voltage"
    assert f"evses[0].connectors[0].max_{zero}: missing; the OCPI 2.1.1 field {zero!r} is 0, read as unknown" in decoded.warnings


@pytest.mark.parametrize("stamp", ["2015-06-29T20:39:09Z ", " 2015-06-29T20:39:09Z", "\t2015-06-29T20:39:09.5Z\n"])
def test_a_datetime_with_whitespace_around_it_is_read(stamp):
    decoded = only(decode_page(page(location(last_updated=stamp)), kind="locations"))
    assert decoded.obj.last_updated.replace(microsecond=0) == dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize("field", ["max_voltage", "max_amperage", "max_electric_power"])
def test_a_json_boolean_is_not_a_connector_rating(field):
    data = location()
    data["evses"][0]["connectors"][0][field] = True
    (reject,) = decode_page(page(data), kind="locations").rejects
    assert f"evses[0].connectors[0].{field}: expected a number, got a boolean" in reject.reason


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Paris"])
def test_a_time_zone_that_names_no_place_is_refused(zone):
    (reject,) = decode_page(page(location(time_zone=zone)), kind="locations").rejects
    assert reject.reason.startswith(f"time_zone: '{zone}' is not an IANA time zone")


# Reading the page's JSON: orjson when it reads exactly what the standard library reads ----------


def _typed(value: Any) -> str:
    """A spelling that tells 1 from 1.0 and keeps every float's digits (== would not)."""
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("path", sorted(REAL_FEEDS.glob("*.json")), ids=lambda path: path.stem)
def test_a_page_read_by_orjson_is_what_the_standard_library_reads(path):
    body = path.read_bytes()
    if body.startswith(b"\xef\xbb\xbf"):  # the standard library's path, with its warning (tested above)
        body = body[3:]
    assert orjson.loads(body) is not None  # orjson reads it: the fast path is what this compares
    assert _typed(_parse(body, PageResult(kind="locations"), FloatReader())) == _typed(json.loads(body))


def test_floats_read_by_orjson_are_the_standard_librarys_to_the_last_digit():
    numbers = [0.1, 1e-7, 2.5e-310, 1.7976931348623157e308, 22.999999999999996, 59.288969, -0.0, 123456.789e3]
    body = json.dumps({"data": numbers}).encode()
    assert _typed(_parse(body, PageResult(kind="locations"), FloatReader())["data"]) == _typed(json.loads(body)["data"])


@pytest.mark.parametrize("digits", ["18446744073709551616", "-9223372036854775809", "123456789012345678901234"])
def test_an_integer_beyond_64_bits_is_refused_not_read_as_a_float(digits):
    # orjson would read these as floats: the object would be stored with another number than sent.
    bad = location("BIG")
    bad["x_vendor"] = {"serial": 1}
    text = page(location("OK"), bad).replace(b'"serial": 1', b'"serial": ' + digits.encode())
    result = decode_page(text, kind="locations")
    assert [d.obj.id for d in result.decoded] == ["OK"]
    (reject,) = result.rejects
    assert reject.reason == f"x_vendor.serial: an integer of {len(digits.lstrip('-'))} digits is beyond the range of numbers that can be stored"
    assert reject.raw["x_vendor"]["serial"] == digits.lstrip("+")  # kept for staff, exactly as sent


def test_the_largest_integers_that_fit_are_read_exactly():
    data = location("EDGE", x_vendor={"high": 2**64 - 1, "low": -(2**63)})
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.source["x_vendor"] == {"high": 18446744073709551615, "low": -9223372036854775808}
    assert all(type(value) is int for value in decoded.source["x_vendor"].values())


# "24:00" as an end: the spec's pattern stops at 23:59, but an end of 24:00 can only be the end of the day.


def test_an_opening_period_ending_at_24_00_ends_at_the_end_of_the_day():
    hours = {"twentyfourseven": False, "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "24:00"}]}
    decoded = only(decode_page(page(location(opening_times=hours)), kind="locations"))
    period = decoded.obj.model_dump(mode="json")["opening_times"]["regular_hours"][0]
    assert (period["period_begin"], period["period_end"]) == ("08:00", "00:00")
    assert "opening_times.regular_hours[0].period_end: '24:00' read as '00:00', the end of the day" in decoded.warnings


def test_an_opening_period_starting_at_24_00_is_still_refused():
    hours = {"twentyfourseven": False, "regular_hours": [{"weekday": 1, "period_begin": "24:00", "period_end": "08:00"}]}
    (reject,) = decode_page(page(location(opening_times=hours)), kind="locations").rejects
    assert "opening_times.regular_hours[0].period_begin: '24:00'" in reject.reason


def test_a_tariff_restriction_ending_at_24_00_ends_at_the_end_of_the_day():
    tariff = copy.deepcopy(example("tariff_14_step_size.json"))
    tariff["elements"][0]["restrictions"] = {"start_time": "18:00", "end_time": "24:00"}
    decoded = only(decode_page(page(tariff), kind="tariffs"))
    assert decoded.obj.elements[0].restrictions.end_time.isoformat(timespec="minutes") == "00:00"
    assert "elements[0].restrictions.end_time: '24:00' read as '00:00', the end of the day" in decoded.warnings


# A time zone hours away from the sun's time at the site: kept, and staff are told.


@pytest.mark.parametrize(
    ("zone", "longitude", "hours"),
    [("Europe/Moscow", "135.07161", "6.0"), ("Etc/GMT+5", "76.55234", "10.1"), ("Asia/Novosibirsk", "43.88484", "4.1")],
    ids=["moscow-time-in-khabarovsk", "posix-sign-mixed-up", "novosibirsk-time-in-nizhny-novgorod"],
)
def test_a_time_zone_far_from_the_sites_longitude_is_kept_with_a_warning(zone, longitude, hours):
    data = location(time_zone=zone, coordinates={"latitude": "55.00000", "longitude": longitude})
    decoded = only(decode_page(page(data), kind="locations"))
    assert decoded.obj.time_zone == zone
    assert any(w.startswith(f"time_zone: {zone!r} is {hours} h from the sun's time at longitude {longitude}") for w in decoded.warnings)


@pytest.mark.parametrize(
    ("zone", "longitude"),
    [("Asia/Shanghai", "75.98900"), ("Europe/Madrid", "-8.54460"), ("Pacific/Kiritimati", "-157.40000"), ("Europe/Brussels", "3.72994")],
    ids=["beijing-time-in-kashgar", "cet-in-galicia", "across-the-date-line", "at-home"],
)
def test_a_time_zone_a_civil_time_may_well_use_is_not_questioned(zone, longitude):
    data = location(time_zone=zone, coordinates={"latitude": "43.00000", "longitude": longitude})
    assert not any("sun's time" in w for w in only(decode_page(page(data), kind="locations")).warnings)
