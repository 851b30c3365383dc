"""OCPI types: DateTime, CiString/string(n), GeoLocation, numbers (checklist §2.5, §4.5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from roaming.ocpi.v221.common import (
    CiString36,
    DateTime,
    GeoLocation,
    OcpiModel,
    Price,
    String45,
    ci_equal,
    country_alpha3,
    country_for_time_zone,
    describe_errors,
    format_datetime,
    normalise_coordinate,
    parse_datetime,
)

UTC = dt.UTC


class Stamped(OcpiModel):
    at: DateTime


class Named(OcpiModel):
    id: CiString36
    city: String45


def reasons(model: type[BaseModel], data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return describe_errors(caught.value, model)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-29T20:39:09Z", dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2016-12-29T17:45:09.2Z", dt.datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123", dt.datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
        ("2015-06-29T20:39:09+00:00", dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2023-05-08T01:58:08.3812354+00:00", dt.datetime(2023, 5, 8, 1, 58, 8, 381235, tzinfo=UTC)),
        ("2025-11-07T04:11:53.838579335Z", dt.datetime(2025, 11, 7, 4, 11, 53, 838579, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_it_accepts_the_datetime_spellings_the_spec_and_peers_use(text, expected):
    parsed = Stamped.model_validate({"at": text}).at
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "value", ["2015-06-29", "29/06/2015 20:39", "2015-02-30T10:00:00Z", "", 1435610349, None]
)
def test_it_rejects_what_is_not_an_ocpi_datetime(value):
    (reason,) = reasons(Stamped, {"at": value})
    assert reason.startswith("at: ")


def test_it_rejects_a_non_utc_offset_but_can_convert_it_when_asked():
    (reason,) = reasons(Stamped, {"at": "2015-06-29T22:39:09+02:00"})
    assert "UTC" in reason
    converted = parse_datetime("2015-06-29T22:39:09+02:00", allow_offset=True)
    assert converted == dt.datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)


def test_it_writes_datetimes_with_z_and_whole_seconds():
    stamped = Stamped.model_validate({"at": "2023-05-08T01:58:08.3812354+00:00"})
    assert stamped.model_dump(mode="json") == {"at": "2023-05-08T01:58:08Z"}
    assert format_datetime(dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == (
        "2020-01-02T02:04:05Z"
    )


def test_it_limits_cistring_length_and_charset():
    Named.model_validate({"id": "x" * 36, "city": "c"})
    assert reasons(Named, {"id": "x" * 37, "city": "c"}) == [
        f"id: {'x' * 37!r} should have at most 36 characters"
    ]
    assert reasons(Named, {"id": "Köln-1", "city": "c"}) == [
        "id: 'Köln-1' has characters outside printable ASCII (a CiString)"
    ]
    assert reasons(Named, {"id": "", "city": "c"}) == ["id: '' should have at least 1 character"]


def test_it_counts_string_length_in_characters_not_bytes():
    # 45 Cyrillic letters are 90 UTF-8 bytes and still a valid string(45).
    Named.model_validate({"id": "1", "city": "Ж" * 45})
    assert reasons(Named, {"id": "1", "city": "Ж" * 46})[0].startswith("city: ")


def test_it_strips_surrounding_whitespace():
    assert Named.model_validate({"id": " 12 ", "city": " Gent "}).id == "12"


def test_it_compares_cistrings_case_insensitively():
    assert ci_equal("be", "BE")
    assert not ci_equal("BE", "NL")
    assert not ci_equal(None, "BE")


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("51.047599", "3.729944"),
        ("-33.86882", "151.2092955"),
        ("-49.7699775", "-122.5996726"),
        ("90.00000", "-180.00000"),
    ],
)
def test_it_accepts_coordinates_in_the_spec_format(latitude, longitude):
    point = GeoLocation.model_validate({"latitude": latitude, "longitude": longitude})
    assert point.latitude_decimal == Decimal(latitude)
    assert point.longitude_decimal == Decimal(longitude)


@pytest.mark.parametrize(
    ("latitude", "longitude", "reason"),
    [
        ("91.000000", "3.729944", "latitude: '91.000000' is out of range for a latitude (-90..90)"),
        ("51.047599", "-180.000001", "longitude: '-180.000001' is out of range for a longitude (-180..180)"),
        ("51.04", "3.729944", "latitude: '51.04' is not a latitude in decimal degrees with 5 to 7 decimals"),
        ("", "3.729944", "latitude: '' is not a latitude in decimal degrees with 5 to 7 decimals"),
        ("0.000000", "0.000000", "coordinates 0,0 are a placeholder for 'unknown', not a place"),
    ],
)
def test_it_rejects_bad_coordinates(latitude, longitude, reason):
    assert reasons(GeoLocation, {"latitude": latitude, "longitude": longitude}) == [reason]


def test_it_rejects_coordinates_sent_as_numbers_in_the_strict_model():
    assert reasons(GeoLocation, {"latitude": 51.047599, "longitude": 3.729944}) == [
        "latitude: expected a string, got 51.047599",
        "longitude: expected a string, got 3.729944",
    ]


@pytest.mark.parametrize(
    ("value", "spelled", "changed"),
    [
        ("51.047599", "51.047599", False),
        (51.047599, "51.047599", True),
        ("3.0469", "3.04690", True),
        ("49.76997753844849", "49.7699775", True),
        (" 28.67736435772519", "28.6773644", True),
        ("51.047", "51.04700", True),
        ("1", "1", False),
        ("-1.5", "-1.5", False),
        ("abc", "abc", False),
        (0, "0", False),
    ],
)
def test_it_normalises_other_coordinate_spellings_for_the_tolerant_decoder(value, spelled, changed):
    result, note = normalise_coordinate(value, name="latitude")
    assert result == spelled
    assert (note is not None) == changed


def test_it_keeps_prices_as_exact_decimals_and_writes_json_numbers():
    price = Price.model_validate({"excl_vat": 0.1, "incl_vat": "0.121"})
    assert price.excl_vat == Decimal("0.1")
    assert price.incl_vat == Decimal("0.121")
    assert price.model_dump(mode="json") == {"excl_vat": 0.1, "incl_vat": 0.121}
    assert Price.model_validate({"excl_vat": 10}).model_dump(mode="json", exclude_none=True) == {
        "excl_vat": 10
    }


def test_it_knows_iso_country_codes_and_single_country_time_zones():
    assert country_alpha3("ru") == "RUS"
    assert country_alpha3("BEL") == "BEL"
    assert country_alpha3("TRY") is None  # a currency, not a country
    assert country_for_time_zone("Europe/Lisbon") == "PRT"
    assert country_for_time_zone("Europe/Berlin") is None  # shared with DK, NO, SE, SJ in zone1970.tab
