"""OCPI 2.2.1 Locations module wire models (checklist §4, spec `mod_locations.asciidoc`).

Contract
--------
* :class:`Location`, :class:`Evse` and :class:`Connector` are the full objects of a PUT or a
  Sender's list page; they follow the spec field by field and are strict about meaning:
  required fields, enum values (case-sensitive, note the mixed-case ``IEC_60309_2_*``
  connector types), lengths, coordinates (format, range, not 0,0), ``country`` as an ISO 3166-1
  alpha-3 code, ``time_zone`` as an IANA zone name, at least one connector per EVSE, and
  ids unique where they are keys: EVSE ``uid`` within a location, connector ``id`` within an
  EVSE (CiStrings, so compared case-insensitively). Errors carry the field path, e.g.
  ``evses[1].uid: duplicate EVSE uid '3256' (first at evses[0])``.
* Three fields the spec requires are optional here, by product decision (a driver near a
  charger must still find it, and real feeds omit them): ``Location.city`` and
  ``Connector.max_voltage``/``max_amperage``. ``None`` means unknown; nothing is guessed (the
  city is not cut out of ``address``). Storage keeps ``""`` for an unknown city and NULL for an
  unknown voltage or amperage. The feed decoder records each absence as a warning; a PUT or
  PATCH may leave them out or send ``null`` (unknown) as well.
* The general tolerances of :mod:`roaming.ocpi.v221.common` apply (unknown fields ignored,
  whitespace stripped, ``null`` = absent, lax numbers, DateTime without ``Z``). Repairs of real
  feeds' deviations (enum case, coordinates as numbers, 2.1.1 field names, …) are not done here
  but in :mod:`roaming.ocpi.v221.feeds`, which records each as a warning.
* :class:`LocationPatch`, :class:`EvsePatch`, :class:`ConnectorPatch` are PATCH bodies: every
  field optional except ``last_updated``; a field that is required in the full object may be
  left out but not sent as ``null``. Apply one with ``patch.model_dump(exclude_unset=True)``.
* :func:`check_put_identifiers` / :func:`check_patch_identifiers` compare the ids in a body with
  the ids in the URL (case-insensitively) and raise :class:`IdentifierMismatch`, whose message
  names the field, for an OCPI 2001 answer. A PATCH may carry identifiers only if they equal
  the target's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from roaming.power import MAX_CONNECTOR_POWER_W, phases

from .common import (
    ALPHA3_TO_ALPHA2,
    BusinessDetails,
    CiString36,
    CiString48,
    CountryCode,
    DateTime,
    DisplayText,
    EnergyMix,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    GeoLocation,
    Image,
    ImageCategory,
    LastUpdated,
    LocalTime,
    OcpiEnum,
    OcpiModel,
    PartyId,
    String3,
    String4,
    String10,
    String16,
    String45,
    String64,
    String255,
    TokenType,
    Url,
    ci_equal,
    is_time_zone,
    not_a_boolean,
)

__all__ = [
    "AdditionalGeoLocation",
    "Capability",
    "Connector",
    "ConnectorFormat",
    "ConnectorPatch",
    "ConnectorType",
    "EnergySourceCategory",
    "EnvironmentalImpactCategory",
    "Evse",
    "EvsePatch",
    "ExceptionalPeriod",
    "Facility",
    "Hours",
    "IdentifierMismatch",
    "ImageCategory",
    "Location",
    "LocationPatch",
    "ParkingRestriction",
    "ParkingType",
    "PowerType",
    "PublishTokenType",
    "RegularHours",
    "Status",
    "StatusSchedule",
    "check_patch_identifiers",
    "check_put_identifiers",
]


class Status(OcpiEnum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class Capability(OcpiEnum):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorType(OcpiEnum):
    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    # The spec spells these four in mixed case; enum values are case-sensitive.
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class ConnectorFormat(OcpiEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(OcpiEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ParkingType(OcpiEnum):
    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class ParkingRestriction(OcpiEnum):
    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class Facility(OcpiEnum):
    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BIKE_SHARING = "BIKE_SHARING"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAM_STOP = "TRAM_STOP"
    METRO_STATION = "METRO_STATION"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    PARKING_LOT = "PARKING_LOT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


# --------------------------------------------------------------------------- small objects


class AdditionalGeoLocation(GeoLocation):
    name: DisplayText | None = None


class RegularHours(OcpiModel):
    weekday: Annotated[int, Field(ge=1, le=7)]
    period_begin: LocalTime
    period_end: LocalTime


class ExceptionalPeriod(OcpiModel):
    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    @model_validator(mode="after")
    def _regular_hours_unless_always_open(self) -> Hours:
        if not self.twentyfourseven and not self.regular_hours:
            raise PydanticCustomError(
                "ocpi_hours",
                "regular_hours needs at least one entry when twentyfourseven is false",
                {"subpath": ".regular_hours"},
            )
        return self


class StatusSchedule(OcpiModel):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class PublishTokenType(OcpiModel):
    uid: CiString36 | None = None
    type: TokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None

    @model_validator(mode="after")
    def _identifies_someone(self) -> PublishTokenType:
        if self.uid is None and self.visual_number is None and self.group_id is None:
            raise PydanticCustomError(
                "ocpi_publish_token", "needs at least one of uid, visual_number, group_id"
            )
        if self.uid is not None and self.type is None:
            raise PydanticCustomError(
                "ocpi_publish_token", "type is required when uid is set", {"subpath": ".type"}
            )
        if self.visual_number is not None and self.issuer is None:
            raise PydanticCustomError(
                "ocpi_publish_token", "issuer is required when visual_number is set", {"subpath": ".issuer"}
            )
        return self


def _ensure_unique(items: Sequence[Any], attribute: str, what: str) -> None:
    if len(items) < 2:  # most EVSEs have one connector
        return
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = getattr(item, attribute)
        if key is None:
            continue
        folded = key.casefold()
        if folded in seen:
            raise PydanticCustomError(
                "duplicate_id",
                "duplicate {what} {key} (already used at index {first})",
                {"what": what, "key": repr(key), "first": seen[folded], "subpath": f"[{index}].{attribute}"},
            )
        seen[folded] = index


def _check_country(value: str | None) -> str | None:
    if value is not None and value not in ALPHA3_TO_ALPHA2:
        raise PydanticCustomError(
            "ocpi_country", "{value} is not an ISO 3166-1 alpha-3 country code", {"value": repr(value)}
        )
    return value


def _check_time_zone(value: str | None) -> str | None:
    if value is not None and not is_time_zone(value):
        raise PydanticCustomError(
            "ocpi_time_zone", "{value} is not an IANA time zone (e.g. 'Europe/Oslo')", {"value": repr(value)}
        )
    return value


# The same checks serve a full object and its PATCH shape (where the field may be absent).
IsoCountry = Annotated[String3, AfterValidator(_check_country)]
IanaTimeZone = Annotated[String255, AfterValidator(_check_time_zone)]
# Volts, amperes and watts go into integer columns (PostgreSQL's integer, as Django's
# PositiveIntegerField everywhere): a larger value is a sender's error (milliwatts?), refused with
# its path rather than failing the write of a whole page. The bounds come before the validator:
# after it, pydantic checks them in Python (two calls per value, ~10,000 values a page).
ConnectorRating = Annotated[int, Field(ge=0, le=2_147_483_647), BeforeValidator(not_a_boolean)]


def _unique(attribute: str, what: str) -> AfterValidator:
    def check(items: list[Any]) -> list[Any]:
        _ensure_unique(items, attribute, what)
        return items

    return AfterValidator(check)


# --------------------------------------------------------------------------- Connector / EVSE / Location


def _check_power(connector: Connector | ConnectorPatch) -> None:
    """Volts × amperes × phases must be a power the connector could state as max_electric_power."""
    if connector.max_voltage and connector.max_amperage and connector.power_type:
        watts = connector.max_voltage * connector.max_amperage * phases(connector.power_type)
        if watts > MAX_CONNECTOR_POWER_W:
            raise PydanticCustomError(
                "ocpi_connector_power",
                "max_voltage {volts} × max_amperage {amperes} is {watts} W, more than any connector (millivolts or"
                " milliamperes?)",
                {"volts": connector.max_voltage, "amperes": connector.max_amperage, "watts": f"{watts:,}"},
            )


class Connector(OcpiModel):
    id: CiString36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    # Required by the spec; optional here (None = unknown), see the module docstring.
    max_voltage: ConnectorRating | None = None
    max_amperage: ConnectorRating | None = None
    max_electric_power: ConnectorRating | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    last_updated: LastUpdated

    @model_validator(mode="after")
    def _power_in_range(self) -> Connector:
        _check_power(self)
        return self


class Evse(OcpiModel):
    uid: CiString36
    evse_id: CiString48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], Field(min_length=1), _unique("id", "connector id")]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: LastUpdated


class Location(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255
    city: String45 | None = None  # required by the spec; None = unknown (module docstring)
    postal_code: String10 | None = None
    state: String45 | None = None
    country: IsoCountry
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: Annotated[list[Evse], _unique("uid", "EVSE uid")] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: IanaTimeZone
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: LastUpdated


# --------------------------------------------------------------------------- PATCH bodies


class _Patch(OcpiModel):
    # Fields that the full object requires: absent is fine in a PATCH, null is not.
    _required_in_full: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _Patch:
        for name in sorted(self.model_fields_set & self._required_in_full):
            if getattr(self, name) is None:
                raise PydanticCustomError(
                    "ocpi_patch_null",
                    "may be left out of a PATCH but not set to null (required in the full object)",
                    {"subpath": f".{name}"},
                )
        return self


class ConnectorPatch(_Patch):
    _required_in_full = frozenset({"id", "standard", "format", "power_type"})

    id: CiString36 | None = None
    standard: ConnectorType | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    max_voltage: ConnectorRating | None = None
    max_amperage: ConnectorRating | None = None
    max_electric_power: ConnectorRating | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    last_updated: LastUpdated

    @model_validator(mode="after")
    def _power_in_range(self) -> ConnectorPatch:
        _check_power(self)
        return self


class EvsePatch(_Patch):
    _required_in_full = frozenset({"uid", "status", "connectors"})

    uid: CiString36 | None = None
    evse_id: CiString48 | None = None
    status: Status | None = None
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], Field(min_length=1), _unique("id", "connector id")] | None = None
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: LastUpdated


class LocationPatch(_Patch):
    _required_in_full = frozenset(
        {
            "country_code",
            "party_id",
            "id",
            "publish",
            "address",
            "country",
            "coordinates",
            "time_zone",
        }
    )

    country_code: CountryCode | None = None
    party_id: PartyId | None = None
    id: CiString36 | None = None
    publish: bool | None = None
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255 | None = None
    city: String45 | None = None
    postal_code: String10 | None = None
    state: String45 | None = None
    country: IsoCountry | None = None
    coordinates: GeoLocation | None = None
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: Annotated[list[Evse], _unique("uid", "EVSE uid")] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: IanaTimeZone | None = None
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: LastUpdated


# --------------------------------------------------------------------------- URL ↔ body identifiers


class IdentifierMismatch(ValueError):
    """A body's identifier differs from the URL's (OCPI status 2001)."""

    def __init__(self, field: str, *, url_value: str, body_value: str) -> None:
        self.field = field
        self.url_value = url_value
        self.body_value = body_value
        super().__init__(f"{field}: body has {body_value!r} but the URL has {url_value!r}")


_Body = Location | Evse | Connector | LocationPatch | EvsePatch | ConnectorPatch


def _check_identifiers(
    body: _Body,
    *,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None,
    connector_id: str | None,
) -> None:
    if connector_id is not None:
        if evse_uid is None:
            raise ValueError("a connector URL needs an evse_uid")
        expected: dict[str, str] = {"id": connector_id}
        allowed: tuple[type, ...] = (Connector, ConnectorPatch)
        what = "Connector"
    elif evse_uid is not None:
        expected = {"uid": evse_uid}
        allowed = (Evse, EvsePatch)
        what = "EVSE"
    else:
        expected = {"country_code": country_code, "party_id": party_id, "id": location_id}
        allowed = (Location, LocationPatch)
        what = "Location"
    if not isinstance(body, allowed):
        raise TypeError(f"this URL addresses a {what}, the body is a {type(body).__name__}")
    for field, url_value in expected.items():
        body_value = getattr(body, field)
        if body_value is not None and not ci_equal(body_value, url_value):
            raise IdentifierMismatch(field, url_value=url_value, body_value=body_value)


def check_put_identifiers(
    body: Location | Evse | Connector,
    *,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
) -> None:
    """Raise :class:`IdentifierMismatch` if a PUT body's ids disagree with its URL.

    The URL is ``/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]``;
    the body is the object at the URL's depth. CiStrings compare case-insensitively.
    """
    _check_identifiers(
        body,
        country_code=country_code,
        party_id=party_id,
        location_id=location_id,
        evse_uid=evse_uid,
        connector_id=connector_id,
    )


def check_patch_identifiers(
    patch: LocationPatch | EvsePatch | ConnectorPatch,
    *,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
) -> None:
    """Raise :class:`IdentifierMismatch` if a PATCH tries to change an identifier.

    Identifiers may be left out of a PATCH; when present they must equal the target's.
    """
    _check_identifiers(
        patch,
        country_code=country_code,
        party_id=party_id,
        location_id=location_id,
        evse_uid=evse_uid,
        connector_id=connector_id,
    )
