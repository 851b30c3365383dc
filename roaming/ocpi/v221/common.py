"""Shared OCPI 2.2.1 wire types (checklist §2.5, spec `types.asciidoc`).

Contract
--------
* Every model derives from :class:`OcpiModel`: unknown JSON fields are ignored (2.3.0 makes that
  a rule, and 2.2/2.2.1 peers already send extras such as `cp_id` or `subOperator`), leading and
  trailing whitespace of every string is stripped, and `null` for an optional field means absent.
  Pydantic's lax mode is kept on purpose: `"22000"` and `22000.0` are read as the integer 22000,
  `"0.25"` as a number — the meaning is unambiguous and peers do send these. Booleans likewise take
  pydantic's unambiguous spellings (`"true"`/`"false"`, `"yes"`/`"no"`, `"on"`/`"off"`, `1`/`0`);
  anything else (`"perhaps"`, `2`) is refused. Enum values are stripped too (:class:`OcpiEnum`).
* Dumping with ``model_dump(mode="json", exclude_none=True)`` gives OCPI JSON again: DateTimes as
  ``YYYY-MM-DDTHH:MM:SSZ``, numbers (held as :class:`~decimal.Decimal`) as JSON numbers.
* :data:`DateTime` accepts RFC 3339 in UTC: ``Z`` optional (absence means UTC), any number of
  fractional digits (more than 6 are truncated), ``+00:00``/``-00:00`` offsets; years before
  1970 are rejected as placeholders (.NET's ``0001-01-01T00:00:00``). It always yields
  an aware UTC datetime. Any other offset is rejected here (OCPI says UTC); the tolerant feed
  decoder converts it and records a warning. Date-only strings and epoch numbers are rejected:
  they do not say which instant is meant.
* :class:`GeoLocation` keeps the spec's strings (regex ``-?[0-9]{1,2}\\.[0-9]{5,7}``) and also
  checks the range (−90..90, −180..180) and rejects 0,0 ("Null Island"), which in real feeds is
  a placeholder for "unknown", never a charger. The spec's string(10)/string(11) lengths are
  not enforced: its own regex allows "-12.3456789" and "-122.5996726" (11 and 12 characters),
  and operators send those. :func:`normalise_coordinate` turns other
  spellings (JSON numbers, more than 7 or only 3–4 decimals) into the spec form for the
  decoder; fewer than 3 decimals (``"1"``) locate nothing and stay rejected.
* Countries and zones: :func:`country_alpha3` (alpha-2 or alpha-3 in any case → alpha-3),
  :func:`country_for_time_zone` (the one country using a zone, from zone1970.tab) and
  :func:`time_zones_of_country` (every zone of a country, from zone.tab); tzdata is the source.
* CiString ids are compared case-insensitively (:func:`ci_equal`); their case is kept as sent.
* :func:`describe_errors` turns a pydantic ``ValidationError`` into precise one-line reasons
  naming the field path, e.g. ``evses[2].connectors[0].power_type: 'AC_3_PHASES' is not a valid
  PowerType`` — for OCPI 2001 answers and for feed rejects alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from importlib import resources
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from roaming.iso4217 import is_currency

__all__ = [
    "BusinessDetails",
    "CiString2",
    "CiString3",
    "CiString4",
    "CiString36",
    "CiString48",
    "CountryCode",
    "CurrencyCode",
    "DateTime",
    "DisplayText",
    "EnergyMix",
    "EnergySource",
    "EnergySourceCategory",
    "EnvironmentalImpact",
    "EnvironmentalImpactCategory",
    "GeoLocation",
    "Image",
    "ImageCategory",
    "LastUpdated",
    "LocalDate",
    "LocalTime",
    "Number",
    "OcpiModel",
    "PartyId",
    "Price",
    "OcpiEnum",
    "Role",
    "String2",
    "String3",
    "String4",
    "String10",
    "String16",
    "String36",
    "String45",
    "String64",
    "String100",
    "String255",
    "String512",
    "TokenType",
    "Url",
    "ci_constraints",
    "ci_equal",
    "country_alpha3",
    "country_for_time_zone",
    "describe_errors",
    "format_datetime",
    "is_placeholder_datetime",
    "is_time_zone",
    "normalise_coordinate",
    "parse_datetime",
    "string_constraints",
    "time_zone_spelling",
    "time_zones_of_country",
    "unwrap_annotation",
    "annotation_at",
    "format_loc",
    "describe_error",
    "enum_by_name",
    "ALPHA2_TO_ALPHA3",
    "ALPHA3_TO_ALPHA2",
]


class OcpiModel(BaseModel):
    """Base of every OCPI wire object."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        revalidate_instances="never",
        use_enum_values=False,
    )


# --------------------------------------------------------------------------- strings

_PRINTABLE_ASCII = r"^[\x20-\x7E]*$"


def ci_constraints(max_length: int, min_length: int = 1) -> Any:
    """Constraints of a CiString(n): use as ``Annotated[str, ci_constraints(39)]``."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_PRINTABLE_ASCII)


def string_constraints(max_length: int) -> Any:
    """Constraints of a string(n): use as ``Annotated[str, string_constraints(5000)]``."""
    return StringConstraints(max_length=max_length)


_ci = ci_constraints
_s = string_constraints


# CiString(n): case-insensitive printable ASCII, at most n characters. Ids are never empty.
CiString2 = Annotated[str, _ci(2)]
CiString3 = Annotated[str, _ci(3)]
CiString4 = Annotated[str, _ci(4)]
CiString36 = Annotated[str, _ci(36)]
CiString48 = Annotated[str, _ci(48)]
_COUNTRY_CODE = r"^[A-Za-z]{2}$"
_PARTY_ID = r"^[A-Za-z0-9]{3}$"
_CURRENCY = r"^[A-Z]{3}$"
CountryCode = Annotated[str, StringConstraints(pattern=_COUNTRY_CODE)]
PartyId = Annotated[str, StringConstraints(pattern=_PARTY_ID)]


def _iso_currency(value: str) -> str:
    # The shape alone let "XYZ" through: stored, then never priced. A code of no currency a price
    # can be paid in is refused where it arrives, with its path (see roaming.iso4217).
    if not is_currency(value):
        raise PydanticCustomError("ocpi_currency", "{value} is not an ISO 4217 code of a currency", {"value": repr(value)})
    return value


# ISO 4217 alphabetic code (Tariff.currency).
CurrencyCode = Annotated[str, StringConstraints(pattern=_CURRENCY), AfterValidator(_iso_currency)]

# string(n): case-sensitive UTF-8, at most n characters (not bytes).
String2 = Annotated[str, _s(2)]
String3 = Annotated[str, _s(3)]
String4 = Annotated[str, _s(4)]
String10 = Annotated[str, _s(10)]
String16 = Annotated[str, _s(16)]
String36 = Annotated[str, _s(36)]
String45 = Annotated[str, _s(45)]
String64 = Annotated[str, _s(64)]
String100 = Annotated[str, _s(100)]
String255 = Annotated[str, _s(255)]
String512 = Annotated[str, _s(512)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=255)]


def ci_equal(left: str | None, right: str | None) -> bool:
    """CiString equality: ASCII case-insensitive, None only equals None."""
    if left is None or right is None:
        return left is right
    return left.casefold() == right.casefold()


# --------------------------------------------------------------------------- numbers


def _decimal_to_json(value: Decimal) -> int | float:
    # JSON has one number type; an integral Decimal is written without ".0" noise.
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def not_a_boolean(value: Any) -> Any:
    """For integer fields: pydantic's lax int reads JSON true as 1 (1 V, 1 A, a step of 1)."""
    if isinstance(value, bool):
        raise PydanticCustomError("ocpi_boolean_number", "expected a number, got a boolean")
    return value


# No OCPI quantity comes near 10^15 (a price, a percentage, kWh, amperes). Beyond it a number is
# a sender's error, and a huge one would cost us: "1e5000" (tolerated as a string) is a 5,000-digit
# integer that no JSON encoder writes, and "1e1000000" takes seconds of CPU to convert.
NUMBER_DIGITS = 15


def _bounded(value: Decimal) -> Decimal:
    # The exponent of its first digit: no arithmetic, which a huge exponent would overflow.
    if value.adjusted() >= NUMBER_DIGITS:
        raise PydanticCustomError(
            "ocpi_number_too_large", "{value} is too large: at most 15 digits before the decimal point", {"value": str(value)}
        )
    return value


Number = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    AfterValidator(_bounded),
    PlainSerializer(_decimal_to_json, return_type=int | float, when_used="json"),
]


# --------------------------------------------------------------------------- DateTime

_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)


def _datetime_error(value: object, why: str) -> PydanticCustomError:
    return PydanticCustomError(
        "ocpi_datetime", "{value} is not an OCPI DateTime: {why}", {"value": repr(value), "why": why}
    )


# .NET's DateTime.MinValue ("0001-01-01T00:00:00") stands for "unknown" in real feeds; no OCPI
# object has a real time before 1970 (1970-01-01 itself is the spec's agreed CDR placeholder).
_EPOCH_YEAR = 1970


def is_placeholder_datetime(value: object) -> bool:
    """True for a DateTime string from before 1970, such as .NET's "0001-01-01T00:00:00"."""
    return isinstance(value, str) and value[:4].isdigit() and int(value[:4]) < _EPOCH_YEAR


_PARSED: dict[str, dt.datetime] = {}  # UTC spellings read by the fast path, which allow_offset does not change


def parse_datetime(value: object, *, allow_offset: bool = False) -> dt.datetime:
    """Parse an OCPI DateTime into an aware UTC datetime.

    With ``allow_offset`` a non-zero UTC offset is converted instead of rejected.
    Raises pydantic's ``PydanticCustomError`` (a ``ValueError``) with a precise message.
    """
    if type(value) is str:  # the cache first: ~8,000 values a page, mostly already read
        known = _PARSED.get(value)
        if known is not None:
            return known
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        if value.utcoffset() and not allow_offset:
            raise _datetime_error(value.isoformat(), "OCPI DateTimes are UTC")
        return value.astimezone(dt.UTC)
    if not isinstance(value, str):
        raise _datetime_error(value, "expected an RFC 3339 string")
    # Fast path for the spellings nearly every peer uses ("…T20:39:09Z", "…T20:39:09.123Z"):
    # a page of 1,000 locations carries ~8,000 DateTimes, a third of them repeated (an EVSE's
    # connectors often share its time).
    if (
        20 <= len(value) <= 27
        and value[10] == "T"
        and value[19] in "Z."
        and value[-1] == "Z"
        and value[0] != "0"
    ):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.year >= _EPOCH_YEAR:
                if len(_PARSED) > 20_000:
                    _PARSED.clear()
                _PARSED[value] = parsed
                return parsed
    # Whitespace around it is tolerated, as around every other value (fullmatch: a "$" would
    # also have let a newline before the end through, and only that).
    match = _DATETIME_RE.fullmatch(value.strip())
    if match is None:
        raise _datetime_error(value, "expected YYYY-MM-DDTHH:MM:SS[.fff][Z]")
    date_part, time_part, fraction, _zulu, sign, off_h, off_m = match.groups()
    if len(time_part) == 5:
        time_part += ":00"
    text = f"{date_part}T{time_part}"
    if fraction:
        text += "." + (fraction[:6].ljust(6, "0"))
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _datetime_error(value, "no such date or time") from None
    if parsed.year < _EPOCH_YEAR:
        raise _datetime_error(value, "a placeholder (before 1970), not a time")
    if sign is not None:
        offset = int(off_h) * 60 + int(off_m)
        if offset:
            if not allow_offset:
                raise _datetime_error(value, "OCPI DateTimes are UTC (offset must be Z or +00:00)")
            delta = dt.timedelta(minutes=offset if sign == "+" else -offset)
            return (parsed - delta).replace(tzinfo=dt.UTC)
    return parsed.replace(tzinfo=dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """OCPI DateTime as written: UTC, whole seconds, trailing Z (never '+00:00')."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


DateTime = Annotated[
    dt.datetime,
    BeforeValidator(parse_datetime),
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
]


# How far ahead of our clock a last_updated may be. A partner's clock may run fast, or send local
# time marked Z (hours ahead); beyond a day it is an error, and storing it would make every later
# update of the object look older and be ignored: a charger's status frozen.
MAX_AHEAD = dt.timedelta(days=1)
_horizon = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # now + MAX_AHEAD as of the last look; only grows


def _not_far_ahead(value: dt.datetime) -> dt.datetime:
    global _horizon
    if value > _horizon:  # the cached horizon only errs early: look at the clock again
        _horizon = dt.datetime.now(dt.UTC) + MAX_AHEAD
        if value > _horizon:
            raise PydanticCustomError(
                "ocpi_future",
                "{value} is more than a day ahead of our clock: every later update would look older and be ignored",
                {"value": format_datetime(value)},
            )
    return value


# The last_updated of a stored object: a DateTime no more than MAX_AHEAD in the future.
LastUpdated = Annotated[DateTime, AfterValidator(_not_far_ahead)]


_HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# A page of 1,000 locations carries ~4,000 opening and closing times and a dozen distinct ones.
_LOCAL_TIMES: dict[str, dt.time] = {}


def _parse_local_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        known = _LOCAL_TIMES.get(value)
        if known is not None:
            return known
        match = _HHMM_RE.match(value.strip())
        if match:
            if len(_LOCAL_TIMES) > 10_000:  # only the garbage of a broken feed could get here
                _LOCAL_TIMES.clear()
            parsed = _LOCAL_TIMES[value] = dt.time(int(match.group(1)), int(match.group(2)))
            return parsed
    raise PydanticCustomError(
        "ocpi_time", "{value} is not a time of day as HH:MM (00:00..23:59)", {"value": repr(value)}
    )


def _parse_local_date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("ocpi_date", "{value} is not a date as YYYY-MM-DD", {"value": repr(value)})


# "HH:MM" local time (RegularHours, TariffRestrictions); "00:00" as an end means end of day.
LocalTime = Annotated[
    dt.time,
    BeforeValidator(_parse_local_time),
    PlainSerializer(lambda value: value.isoformat("minutes"), return_type=str, when_used="json"),
]
# "YYYY-MM-DD" local date (TariffRestrictions).
LocalDate = Annotated[
    dt.date,
    BeforeValidator(_parse_local_date),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
]


# --------------------------------------------------------------------------- enums


class OcpiEnum(StrEnum):
    """Base of every OCPI enum: a value sent with surrounding white space (``"AVAILABLE "``) is
    read as the value, as every other string is stripped; anything else unknown stays an error."""

    @classmethod
    def _missing_(cls, value: object) -> OcpiEnum | None:
        if isinstance(value, str) and value.strip() != value:
            return cls._value2member_map_.get(value.strip())  # type: ignore[return-value]
        return None


class Role(OcpiEnum):
    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class TokenType(OcpiEnum):
    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class ImageCategory(OcpiEnum):
    CHARGER = "CHARGER"
    ENTRANCE = "ENTRANCE"
    LOCATION = "LOCATION"
    NETWORK = "NETWORK"
    OPERATOR = "OPERATOR"
    OTHER = "OTHER"
    OWNER = "OWNER"


class EnergySourceCategory(OcpiEnum):
    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(OcpiEnum):
    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


# --------------------------------------------------------------------------- small objects


class DisplayText(OcpiModel):
    language: String2
    text: String512


class Price(OcpiModel):
    excl_vat: Number
    incl_vat: Number | None = None


class Image(OcpiModel):
    url: Url
    thumbnail: Url | None = None
    category: ImageCategory
    type: CiString4
    width: Annotated[int, Field(ge=0, le=99999)] | None = None
    height: Annotated[int, Field(ge=0, le=99999)] | None = None


class BusinessDetails(OcpiModel):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class EnergySource(OcpiModel):
    source: EnergySourceCategory
    percentage: Number


class EnvironmentalImpact(OcpiModel):
    category: EnvironmentalImpactCategory
    amount: Number


class EnergyMix(OcpiModel):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


# --------------------------------------------------------------------------- GeoLocation

_LATITUDE_RE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
_LONGITUDE_RE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
_DECIMAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_COORDINATE_BOUNDS = {"latitude": (_LATITUDE_RE, Decimal(90)), "longitude": (_LONGITUDE_RE, Decimal(180))}


class GeoLocation(OcpiModel):
    """WGS 84 point as the spec's strings; use :attr:`latitude_decimal`/:attr:`longitude_decimal`."""

    # The spec also says string(10)/string(11), but its own regex allows "-12.3456789" and
    # "-122.5996726" (11 and 12 characters), and operators send those; the regex is the rule.
    latitude: str
    longitude: str

    @field_validator("latitude", "longitude")
    @classmethod
    def _check_coordinate(cls, value: str, info: ValidationInfo) -> str:
        name = info.field_name or "latitude"
        pattern, bound = _COORDINATE_BOUNDS[name]
        if pattern.match(value):
            if abs(Decimal(value)) <= bound:
                return value
        elif not _DECIMAL_RE.match(value) or abs(Decimal(value)) <= bound:
            raise PydanticCustomError(
                "ocpi_coordinate",
                "{value} is not a {name} in decimal degrees with 5 to 7 decimals",
                {"value": repr(value), "name": name},
            )
        raise PydanticCustomError(
            "ocpi_coordinate_range",
            "{value} is out of range for a {name} (-{bound}..{bound})",
            {"value": repr(value), "name": name, "bound": int(bound)},
        )

    @model_validator(mode="after")
    def _not_null_island(self) -> GeoLocation:
        if Decimal(self.latitude) == 0 and Decimal(self.longitude) == 0:
            raise PydanticCustomError(
                "ocpi_null_island", "coordinates 0,0 are a placeholder for 'unknown', not a place"
            )
        return self

    @property
    def latitude_decimal(self) -> Decimal:
        return Decimal(self.latitude)

    @property
    def longitude_decimal(self) -> Decimal:
        return Decimal(self.longitude)


def normalise_coordinate(value: object, *, name: str) -> tuple[str, str | None]:
    """Spell a latitude/longitude the spec's way.

    Returns ``(spec_string, note)`` where ``note`` says what was changed (None if nothing).
    Accepts JSON numbers and decimal strings with more than 7 decimals (rounded half-even to 7,
    finer than 1 cm) or with 3 or 4 (padded to 5; ±110 m or better, the charger can be found).
    Anything else — fewer than 3 decimals, not a plain decimal number — is returned unchanged
    so that validation rejects it with the original value.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return (value, None)  # type: ignore[return-value]
    text = (
        value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    )
    if _COORDINATE_BOUNDS[name][0].match(text):
        note = None if isinstance(value, str) else f"sent as a JSON number {text}, not a string"
        return (text, note)
    if not _DECIMAL_RE.match(text):
        return (value, None)  # type: ignore[return-value]
    try:
        number = Decimal(text)
    except InvalidOperation:
        return (value, None)  # type: ignore[return-value]
    decimals = len(text.partition(".")[2])
    if decimals < 3:
        # "1", "52" or "-1.5" locate nothing (±1 to 100 km); in real feeds they are placeholders.
        # Left for validation to reject (a JSON number as its text, so the message shows it).
        return (text, None)
    if decimals > 7:
        spelled = str(number.quantize(Decimal("0.0000001")))
        why = f"{decimals} decimals rounded to 7"
    else:
        spelled = str(number.quantize(Decimal("0.00001"))) if decimals < 5 else text
        why = f"{decimals} decimals padded to 5"
    if spelled.startswith("-") and Decimal(spelled) == 0:
        spelled = spelled[1:]
    kind = "a JSON number" if not isinstance(value, str) else repr(text)
    return (spelled, f"{kind} has {why} ({spelled})")


# --------------------------------------------------------------------------- countries and time zones

# ISO 3166-1: alpha-3 followed by alpha-2, for every officially assigned code.
_ISO3166 = (
    "ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ ATFTF ATGAG AUSAU AUTAT "
    "AZEAZ BDIBI BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO "
    "BRABR BRBBB BRNBN BTNBT BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG "
    "COKCK COLCO COMKM CPVCV CRICR CUBCU CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE DJIDJ DMADM DNKDK DOMDO "
    "DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB "
    "GEOGE GGYGG GHAGH GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY "
    "HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR IRQIQ ISLIS ISRIL ITAIT "
    "JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH KIRKI KNAKN KORKR KWTKW LAOLA LBNLB LBRLR LBYLY "
    "LCALC LIELI LKALK LSOLS LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH "
    "MKDMK MLIML MLTMT MMRMM MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA "
    "NCLNC NERNE NFKNF NGANG NICNI NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE "
    "PHLPH PLWPW PNGPG POLPL PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA "
    "SDNSD SENSN SGPSG SGSGS SHNSH SJMSJ SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR "
    "SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC SYRSY TCATC TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO "
    "TTOTT TUNTN TURTR TUVTV TWNTW TZATZ UGAUG UKRUA UMIUM URYUY USAUS UZBUZ VATVA VCTVC VENVE VGBVG "
    "VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW"
)
ALPHA3_TO_ALPHA2: Mapping[str, str] = {pair[:3]: pair[3:] for pair in _ISO3166.split()}
ALPHA2_TO_ALPHA3: Mapping[str, str] = {alpha2: alpha3 for alpha3, alpha2 in ALPHA3_TO_ALPHA2.items()}


def country_alpha3(value: str) -> str | None:
    """The ISO 3166-1 alpha-3 code for an alpha-3 or alpha-2 code in any case, else None."""
    code = value.strip().upper()
    if code in ALPHA3_TO_ALPHA2:
        return code
    return ALPHA2_TO_ALPHA3.get(code)


@functools.cache
def _time_zones() -> frozenset[str]:
    """IANA zones that name a place or a fixed rule. Not "localtime" (a link to the server's own
    zone on many hosts, so opening hours would follow wherever we run), "Factory" (tzdata's
    "local time unknown") or the posix/right trees' duplicates."""
    import zoneinfo

    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in ("localtime", "Factory", "posixrules") and not name.startswith(("posix/", "right/"))
    )


@functools.cache
def _zone_countries() -> Mapping[str, tuple[str, ...]]:
    """IANA zone → alpha-2 countries using it, from tzdata's zone1970.tab."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone1970.tab").read_text(encoding="utf-8")
    zones: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            codes, _coordinates, zone, *_rest = line.split("\t")
            zones[zone] = tuple(codes.split(","))
    return zones


def is_time_zone(name: str) -> bool:
    return name in _time_zones()


def country_for_time_zone(name: str) -> str | None:
    """The alpha-3 country of an IANA zone used by exactly one country (Europe/Lisbon → PRT)."""
    countries = _zone_countries().get(name, ())
    if len(countries) != 1:
        return None
    return ALPHA2_TO_ALPHA3.get(countries[0])


@functools.cache
def _country_zones() -> Mapping[str, tuple[str, ...]]:
    """Alpha-2 country → every IANA zone of its territory, from tzdata's zone.tab.

    zone.tab has one line per country and zone (zone1970.tab merges countries that have shared
    clocks since 1970, which answers the other question: which countries use a zone).
    """
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone, *_rest = line.split("\t")
            zones.setdefault(code, []).append(zone)
    return {code: tuple(names) for code, names in zones.items()}


def time_zones_of_country(alpha3: str) -> tuple[str, ...]:
    """The IANA zones of a country given as alpha-3 (TUR → ('Europe/Istanbul',); RUS → 26 zones).

    Empty for an unknown code or a territory without a zone of its own in zone.tab.
    """
    alpha2 = ALPHA3_TO_ALPHA2.get(alpha3.strip().upper())
    return _country_zones().get(alpha2, ()) if alpha2 else ()


def time_zone_spelling(name: str) -> str | None:
    """The IANA spelling of a zone sent with spaces or in the wrong case, if unique."""
    candidates = {name.replace(" ", "_")}
    folded = name.replace(" ", "_").casefold()
    matches = [zone for zone in _time_zones() if zone.casefold() == folded]
    candidates.update(matches)
    found = [zone for zone in candidates if zone in _time_zones()]
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- error descriptions


def unwrap_annotation(annotation: Any) -> Any:
    """Strip Annotated/Optional wrappers: `Annotated[list[X] | None, …]` → `list[X]`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def annotation_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The (unwrapped) annotation of the field at a pydantic error location, or None."""
    current: Any = model
    for part in loc:
        current = unwrap_annotation(current)
        if isinstance(part, int):
            if typing.get_origin(current) is not list:
                return None
            current = typing.get_args(current)[0]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = field.annotation
    return unwrap_annotation(current)


def format_loc(
    loc: Iterable[str | int], index_maps: Mapping[tuple[str | int, ...], Sequence[int]] | None = None
) -> str:
    """`('evses', 2, 'connectors', 0, 'id')` → `evses[2].connectors[0].id`.

    ``index_maps`` maps a list's location to the original indices of its items, for lists
    that the tolerant decoder shortened (EVSEs without connectors are dropped).
    """
    text = ""
    prefix: tuple[str | int, ...] = ()
    for part in loc:
        if isinstance(part, int):
            original = part
            if index_maps and prefix in index_maps and part < len(index_maps[prefix]):
                original = index_maps[prefix][part]
            text += f"[{original}]"
        else:
            text += f".{part}" if text else part
        prefix += (part,)
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_PATTERNS = {
    _PRINTABLE_ASCII: "has characters outside printable ASCII (a CiString)",
    _COUNTRY_CODE: "is not a 2-letter ISO 3166-1 country code",
    _PARTY_ID: "is not a 3-character party id",
    _CURRENCY: "is not a 3-letter upper-case ISO 4217 currency code",
}

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "finite_number": "a finite number",
}


def describe_error(model: type[BaseModel], error: Mapping[str, Any], index_maps: Any = None) -> str:
    loc = tuple(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    subpath = ctx.get("subpath", "")
    path = (format_loc(loc, index_maps) + subpath).lstrip(".")
    kind = error.get("type", "")
    value = error.get("input")
    if kind == "missing":
        message = "required field is missing"
    elif value is None and (kind == "enum" or kind in _EXPECTED or kind.endswith("_type")):
        message = "required field is null"
    elif kind == "enum":
        annotation = annotation_at(model, loc)
        name = annotation.__name__ if isinstance(annotation, type) else "value"
        message = f"{_short(value)} is not a valid {name}"
    elif kind in ("string_too_long", "string_too_short"):
        message = f"{_short(value)} {error.get('msg', '').lower().removeprefix('string ')}"
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        message = f"{_short(value)} {_PATTERNS.get(str(pattern), f'does not match the pattern {pattern}')}"
    elif kind.startswith(("ocpi_", "duplicate_", "identifier_")) or kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"expected a JSON object, got {_short(value)}"
    elif kind == "greater_than_equal":
        message = f"{_short(value)} is below the minimum {ctx.get('ge')}"
    elif kind == "less_than_equal":
        message = f"{_short(value)} is above the maximum {ctx.get('le')}"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {_short(value)}"
    elif kind == "list_type":
        message = f"expected a JSON array, got {_short(value)}"
    elif kind == "too_short" and isinstance(value, list):
        message = f"needs at least {ctx.get('min_length', 1)} item(s), got {len(value)}"
    else:
        message = f"{error.get('msg', 'invalid')} (got {_short(value)})"
    return f"{path}: {message}" if path else message


def describe_errors(
    exc: ValidationError, model: type[BaseModel], *, index_maps: Any = None, limit: int = 8
) -> list[str]:
    """One precise line per validation error, field path first."""
    lines = [describe_error(model, error, index_maps) for error in exc.errors(include_url=False)]
    if len(lines) > limit:
        lines = lines[:limit] + [f"(and {len(lines) - limit} more)"]
    return lines


@functools.cache
def enum_by_name(enum: type[Enum]) -> Mapping[str, Any]:
    """Case-folded value → member, only for values whose folding is unique within the enum."""
    folded: dict[str, list[Any]] = {}
    for member in enum:
        folded.setdefault(str(member.value).casefold(), []).append(member)
    return {key: members[0] for key, members in folded.items() if len(members) == 1}
