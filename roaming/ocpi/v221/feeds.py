"""Tolerant decoding of a Sender's list page (Locations or Tariffs) — checklist §2.3.

``decode_page(raw, kind="locations")`` returns a :class:`PageResult`: the objects that could be
understood (each with the list of repairs made to it), the objects that could not (each with its
index, id, country/party if readable, a precise reason naming the field path, and the raw dict),
and the envelope's ``status_code``/``status_message``/``timestamp`` when present. One bad object
never sinks a page; a page that is not JSON at all (an HTML error page, a truncated body) raises
:class:`FeedDecodeError` and yields nothing, and so does an OCPI error envelope without data
(:class:`FeedStatusError`) — an empty result must never be mistaken for "the CPO has nothing".

What is tolerated, and why
--------------------------
Liberal where the meaning is unambiguous (what real operator feeds send):

* page level: a UTF-8 byte order mark; a bare JSON array instead of the envelope; missing
  ``status_code``/``timestamp``; a non-numeric ``status_code`` (kept as None). Each becomes a
  page warning.
* everywhere (see :mod:`~roaming.ocpi.v221.common`): unknown fields, surrounding whitespace,
  ``null`` for optional fields, numbers sent as strings (``"22000"``) or integers as ``22000.0``,
  DateTimes without ``Z``, with ``+00:00`` or with more than 6 fractional digits. Silent.
* repaired with a warning on the object (so staff can tell the operator):
  enum values in the wrong case when exactly one value matches case-insensitively (``available``
  → ``AVAILABLE``; ``IEC_60309_2_THREE_32`` → ``IEC_60309_2_three_32``); an empty string for an
  optional enum or DateTime (read as absent); a DateTime with a non-zero UTC offset (converted);
  latitude/longitude sent as JSON numbers, with more than 7 decimals (finer than 1 cm) or with
  3–4 decimals (±110 m, still findable), written the spec's way; ``country`` as alpha-2 or lower case
  (``RU`` → ``RUS``); a ``time_zone`` with spaces or wrong case (``Asia/Kuala Lumpur``); a tariff
  ``currency`` in lower case.
* missing required fields defaulted with a warning, only where the feed itself says what is
  meant: ``publish`` missing → true; ``last_updated`` missing, or a pre-1970 placeholder such as
  .NET's ``0001-01-01T00:00:00``, on an EVSE → the location's, on a connector → its EVSE's;
  ``country`` missing → the only country that uses the location's
  ``time_zone`` (tzdata's zone1970.tab: ``Europe/Lisbon`` → PRT; a zone shared by several
  countries is not guessed, and the CPO's own ``country_code`` alone is never used, since
  operators run sites abroad); 2.1.1 connector fields ``voltage``/``amperage`` →
  ``max_voltage``/``max_amperage``.
* unknown, by product decision (a driver near the charger must still find it; the wire models
  make these optional): ``city`` missing → None (never cut out of ``address``: "Анапа, ул.
  Калинина, 2Б" has no marked city part); connector ``max_voltage``/``max_amperage`` missing →
  None. Each absence is a warning.

Decisions on repairs that need judgement (each recorded as a warning; itcharge, toger)
--------------------------------------------------------------------------------------
* ``max_electric_power`` is W. A value above 0 and below 1000 is read as kW and multiplied by
  1000 (``150`` → 150000, ``7.4`` → 7400, rounded to whole W): no charging point delivers less
  than 1 kW, while 22/150/7.4 kW are the usual ratings. Values ≥ 1000 are W, as the spec says,
  and untouched; so is 0. This is a feed repair only: a PUT is validated as sent.
  Objects that validate as sent are still checked on the typed object for such powers and for
  an unknown city/voltage/amperage (a loop over connectors, ~0.6 ms per 1,000 locations), and
  then take the repair pass, so that the kW reading and the warnings also happen there.
* ``country`` that is not an ISO 3166-1 code: replaced by the party's ``country_code`` (alpha-2
  → alpha-3) only when the value is 3 letters beginning with that code — the shape of an
  ISO 4217 currency code, whose first two letters are the issuing country's alpha-2: ``TRY``
  from a TR party → TUR. The value itself then names the country and the party agrees. Not
  replaced, the location is rejected: a name (``Polska``, whatever the party), a code of
  another scheme that does not begin with the party's (IOC ``GER``), ``TRY`` from a BE party.
  A wrong country would also bring a wrong time zone and so wrong tariff hours.
* ``time_zone`` missing (or blank) → the zone of the location's ``country`` (as sent or
  repaired above, never the bare ``country_code``) when tzdata's zone.tab gives that country
  exactly one zone (TUR → Europe/Istanbul, POL → Europe/Warsaw). Several zones (RUS 26, USA
  29, DEU 2 because of Büsingen) are not guessed: the reject reason says so, e.g.
  ``time_zone: required field is null (RUS has 26 time zones, not guessed)``.
* ``regular_hours`` with weekday 0: such a feed counts weekdays 0..6, from Sunday or from
  Monday — which one is unknown, so none of its weekday numbers can be trusted, and dropping
  only the 0 entry would publish wrong days. Without ``twentyfourseven`` the whole
  ``opening_times`` is dropped (hours unknown, which is not "closed"); with
  ``twentyfourseven: true`` only its ``regular_hours`` are. Any other weekday out of 1..7 is a
  reject.
* optional labels that are too long (EVSE ``physical_reference`` > 16, location ``name`` > 255)
  are cut, with a warning quoting the full text: a bay label is still recognisable by its start.
* an EVSE without connectors (the spec requires at least one) is dropped from its location with
  a warning; it cannot be used to charge, and the rest of the location is still good. Error paths
  keep pointing at the EVSE indices of the page as sent.

Strict where meaning is ambiguous — the object is rejected with the reason: unknown enum values
(``GB/T (DC)``), missing identifiers or other required fields that the feed does not imply
(``party_id``, connector ``format``, ``standard``…), coordinates out of range, empty, 0,0 or
with fewer than 3 decimals (``"1"``, ``"0"``: a placeholder, it locates nothing), ``country``
that is not an ISO 3166 code and does not name the party's (above), a missing time zone of a
country with several, time zones that are not IANA names, unparseable dates and times,
duplicate EVSE uids or connector ids.

Cost
----
Every object is first validated as is (pydantic-core, no Python walk over the raw dicts); only
objects that fail, or whose typed object shows a kW power or an unknown city/voltage/amperage,
take the repair pass and a second validation. A page of 1,000 locations × 3 EVSEs decodes in
well under a second (see tests/ocpi_wire/test_feed_speed.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import json
import math
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import Enum
from typing import Any, Generic, Literal, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import BaseModel, ValidationError

from ..jsontext import JsonLimitError, load_json
from .common import (
    ALPHA2_TO_ALPHA3,
    GeoLocation,
    Image,
    country_alpha3,
    country_for_time_zone,
    describe_errors,
    enum_by_name,
    format_datetime,
    is_placeholder_datetime,
    is_time_zone,
    normalise_coordinate,
    parse_datetime,
    time_zone_spelling,
    time_zones_of_country,
    unwrap_annotation,
)
from .locations import Connector, Evse, Location, RegularHours
from .tariffs import Tariff, TariffRestrictions

__all__ = [
    "Decoded",
    "FeedDecodeError",
    "FeedLimitError",
    "FeedShapeError",
    "FeedStatusError",
    "cyclic_gc_paused",
    "NonFinite",
    "FloatReader",
    "may_be_unstorable",
    "unstorable",
    "Kind",
    "PageResult",
    "Reject",
    "decode_object",
    "decode_page",
]

Kind = Literal["locations", "tariffs"]
T = TypeVar("T", bound=BaseModel)

_MODELS: Mapping[str, type[BaseModel]] = {"locations": Location, "tariffs": Tariff}


class FeedDecodeError(Exception):
    """The page as a whole cannot be read (not JSON, not a list); nothing was decoded."""


class FeedLimitError(FeedDecodeError):
    """Well-formed JSON beyond what we read (nesting too deep, an integer too long): the same
    page will fail the same way, so asking again does not help."""


class FeedShapeError(FeedDecodeError):
    """Well-formed JSON that is not a list page (an object, no data, data not a list), or bytes
    that are not UTF-8: what the partner's server sends, so asking again does not help."""


class FeedStatusError(FeedDecodeError):
    """The page is an OCPI error envelope (status_code outside 1xxx) without data, or with an empty list."""

    def __init__(self, message: str, *, status_code: int | None, status_message: str | None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.status_message = status_message

    def __reduce__(self) -> tuple[Any, ...]:  # keyword arguments: pickle (a sync worker's answer) needs help
        return (_feed_status_error, (str(self), self.status_code, self.status_message))


def _feed_status_error(message: str, status_code: int | None, status_message: str | None) -> FeedStatusError:
    return FeedStatusError(message, status_code=status_code, status_message=status_message)


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """An object that was understood; ``warnings`` lists every repair made to it."""

    index: int
    obj: T
    warnings: tuple[str, ...] = ()
    # The JSON object as received, when it validated as is (no repair): kept as the raw copy.
    source: Any = None
    # The JSON object as received, when it was repaired: kept with the repairs, for staff.
    original: Any = None

    @property
    def as_sent(self) -> Any:
        """The JSON object exactly as received, repaired or not."""
        return self.source if self.source is not None else self.original


@dataclass(frozen=True, slots=True)
class Reject:
    """An object that was not understood, with why; the rest of its page is unaffected."""

    index: int
    object_id: str | None
    country_code: str | None
    party_id: str | None
    reason: str
    raw: Any


@dataclass(slots=True)
class PageResult(Generic[T]):
    kind: Kind
    decoded: list[Decoded[T]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    status_code: int | None = None
    status_message: str | None = None
    timestamp: dt.datetime | None = None
    page_warnings: list[str] = field(default_factory=list)

    @property
    def objects(self) -> list[T]:
        return [item.obj for item in self.decoded]

    @property
    def repaired(self) -> list[Decoded[T]]:
        return [item for item in self.decoded if item.warnings]


# --------------------------------------------------------------------------- page level

_BOM = b"\xef\xbb\xbf"


@overload
def decode_page(raw: bytes | str, *, kind: Literal["locations"]) -> PageResult[Location]: ...
@overload
def decode_page(raw: bytes | str, *, kind: Literal["tariffs"]) -> PageResult[Tariff]: ...
def decode_page(raw: bytes | str, *, kind: Kind) -> PageResult[Any]:
    """Decode one list page of a Locations or Tariffs Sender. See the module docstring."""
    model = _MODELS[kind]
    result: PageResult[Any] = PageResult(kind=kind)
    with cyclic_gc_paused():
        floats = FloatReader()
        items = _read_envelope(raw, result, floats)
        validate = model.model_validate
        suspect = _SUSPECT.get(model)
        decoded = result.decoded
        # Only then are the objects walked.
        suspicious = floats.overflowed or may_be_unstorable(raw, long_digits=floats.long_digits)
        for index, item in enumerate(items):
            if suspicious and (why := unstorable(item)) is not None:
                result.rejects.append(_unstorable_reject(item, index, why))
                continue
            try:
                obj = validate(item)
            except ValidationError:
                pass
            else:
                if suspect is None or not suspect(obj):
                    decoded.append(Decoded(index, obj, (), item))
                    continue
            outcome = _decode_slow(model, item, index)
            if isinstance(outcome, Reject):
                result.rejects.append(outcome)
            else:
                decoded.append(outcome)
    return result


class NonFinite(float):
    """NaN, ±Infinity or a number beyond a double (1e400) as sent. Python's json reads them, JSON
    and jsonb do not: an object carrying one (even in a field we ignore) is refused with its path."""

    __slots__ = ("token",)
    token: str

    def __new__(cls, token: str) -> NonFinite:
        number = super().__new__(cls, token.replace("Infinity", "inf"))
        number.token = token
        return number


class FloatReader:
    """`json.loads`'s `parse_float`: a number beyond a double's range (`1e400`) would be read as
    infinity and written back as null; it comes back as NonFinite instead (refused like NaN),
    and `overflowed` says the text held one (only then are the objects walked). `long_digits`:
    whether the page's bytes hold a 19-digit run, once looked at (see `_parse`)."""

    __slots__ = ("overflowed", "long_digits")

    def __init__(self) -> None:
        self.overflowed = False
        self.long_digits: bool | None = None

    def __call__(self, text: str) -> float:
        value = float(text)
        if value in (math.inf, -math.inf):
            self.overflowed = True
            return NonFinite(text)
        return value


_NUL = "contains a NUL character (\\u0000), which cannot be stored"

# What our JSON encoder (orjson, for `raw` and the bulk writes) can write: integers of 64 bits,
# nesting up to 254 levels, of which a bulk write's document takes two. OCPI objects nest a
# handful of levels; a partner's own fields may add a few more.
INTEGER_RANGE = range(-(2**63), 2**64)
MAX_DEPTH = 200
# Digits → "0", every other byte → " ": a run of 19 digits (an integer that may not fit in 64
# bits) is then a plain substring search. A regex scanning for it cost ~18 ms on a 2.3 MB page.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def _has_long_digit_run(raw: bytes) -> bool:
    return _LONG_RUN in raw.translate(_DIGITS_AS_ZERO)


def unstorable(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Why a parsed JSON value cannot be stored as is, naming the path; None when it can.

    A NUL character (JSON "\\u0000") fits in neither PostgreSQL text nor jsonb; NaN and Infinity
    are not JSON; an integer beyond 64 bits or nesting deeper than `MAX_DEPTH` cannot be written
    by our encoder. Any of them would fail a whole page's write (even in a field we otherwise
    ignore), so the object is refused instead.
    """
    here = path or "(value)"
    if isinstance(value, NonFinite):
        if value.token in ("NaN", "Infinity", "-Infinity"):
            return f"{here}: {value.token} is not a JSON number"
        return f"{here}: {value.token} is beyond the range of numbers that can be stored"
    if isinstance(value, str):
        return f"{here}: {_NUL}" if "\x00" in value else None
    if isinstance(value, int):
        if isinstance(value, bool) or value in INTEGER_RANGE:
            return None
        return f"{here}: an integer of {len(str(abs(value)))} digits is beyond the range of numbers that can be stored"
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return f"{here}: nested more than {MAX_DEPTH} levels deep, which cannot be stored"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return f"{inner}: {_NUL}"
            if (found := unstorable(item, inner, depth + 1)) is not None:
                return found
    elif isinstance(value, list):
        for position, item in enumerate(value):
            if (found := unstorable(item, f"{path}[{position}]", depth + 1)) is not None:
                return found
    return None


def may_be_unstorable(raw: bytes | str, *, long_digits: bool | None = None) -> bool:
    """A cheap look at the text: only then is it worth walking the objects with `unstorable`.
    (Deep nesting does not show in the text cheaply: see `sync._prepare_page` for pages.)
    `long_digits`: whether it holds a 19-digit run, when the caller has already looked."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if b"\\u0000" in raw or b"NaN" in raw or b"Infinity" in raw:
        return True
    return long_digits if long_digits is not None else _has_long_digit_run(raw)


def storable(value: Any, depth: int = 0) -> Any:
    """A copy that can be stored, so a refused object is still kept for staff: every NUL becomes
    U+FFFD, NaN/Infinity their token as a string, an integer beyond 64 bits its digits as a
    string, and what nests deeper than `MAX_DEPTH` a note saying so."""
    if isinstance(value, NonFinite):
        return value.token
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, int) and not isinstance(value, bool) and value not in INTEGER_RANGE:
        return str(value)
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return f"(nested more than {MAX_DEPTH} levels deep: left out)"
    if isinstance(value, dict):
        return {storable(key): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item, depth + 1) for item in value]
    return value


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a page is decoded (or its rows built).

    A page of 1,000 locations allocates ~100,000 dicts, lists and models, which triggers
    repeated full collections that scan every live object: measured, that doubled the decode
    time. Decoding creates no reference cycles (refcounting frees everything), so pausing is
    safe. If the collector was already off, it is left off.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@overload
def decode_object(data: Any, *, kind: Literal["locations"], index: int = 0) -> Decoded[Location] | Reject: ...
@overload
def decode_object(data: Any, *, kind: Literal["tariffs"], index: int = 0) -> Decoded[Tariff] | Reject: ...
def decode_object(data: Any, *, kind: Kind, index: int = 0) -> Decoded[Any] | Reject:
    """Decode one object with the page decoder's tolerance (e.g. a GET of one location)."""
    model = _MODELS[kind]
    if (why := unstorable(data)) is not None:
        return _unstorable_reject(data, index, why)
    try:
        obj = model.model_validate(data)
    except ValidationError:
        return _decode_slow(model, data, index)
    suspect = _SUSPECT.get(model)
    if suspect is not None and suspect(obj):
        return _decode_slow(model, data, index)
    return Decoded(index, obj, (), data)


def _unstorable_reject(item: Any, index: int, why: str) -> Reject:
    readable = item if isinstance(item, dict) else {}
    return Reject(
        index,
        _readable(readable, "id"),
        _readable(readable, "country_code"),
        _readable(readable, "party_id"),
        why,
        storable(item),
    )


def _read_envelope(raw: bytes | str, result: PageResult[Any], floats: FloatReader) -> list[Any]:
    payload = _parse(raw, result, floats)
    if isinstance(payload, list):
        result.page_warnings.append("bare JSON array without the OCPI response envelope")
        return payload
    if not isinstance(payload, dict):
        raise FeedShapeError(f"expected the OCPI envelope or a JSON array, got {type(payload).__name__}")

    _read_status(payload, result)
    failed = result.status_code is not None and not 1000 <= result.status_code < 2000
    # An error with an empty list ("database busy", data: []) says nothing of what the CPO has:
    # taken for an empty page, an increment would succeed with nothing and the next one would
    # start after the changes it missed.
    if "data" not in payload or payload["data"] is None or (failed and payload["data"] == []):
        if failed:
            raise FeedStatusError(
                f"OCPI error {result.status_code}: {result.status_message or '(no message)'}",
                status_code=result.status_code,
                status_message=result.status_message,
            )
        if "data" not in payload:
            if "id" in payload:
                raise FeedShapeError("body is a single object, expected a list page")
            raise FeedShapeError("envelope has no data field")
        result.page_warnings.append("envelope data is null; read as an empty page")
        return []
    data = payload["data"]
    if not isinstance(data, list):
        raise FeedShapeError(f"envelope data is a {type(data).__name__}, expected a list")
    if failed:
        result.page_warnings.append(f"status_code {result.status_code} is not a success but data is present")
    return data


def _parse(raw: bytes | str, result: PageResult[Any], floats: FloatReader) -> Any:
    """The page's JSON. A well-formed UTF-8 body is read by orjson (~5 ms a page less than the
    standard library); anything orjson refuses (a byte order mark, NaN, 1e400, a lone surrogate,
    malformed text…) or may read inexactly (an integer beyond 64 bits, which it reads as a float)
    is read as before, with its repairs and its precise errors."""
    if isinstance(raw, bytes):
        floats.long_digits = _has_long_digit_run(raw)
        if not floats.long_digits and not raw.startswith(_BOM):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
    if isinstance(raw, bytes):
        if raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
            result.page_warnings.append("body starts with a UTF-8 byte order mark (ignored)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FeedShapeError(f"body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    else:
        text = raw.removeprefix("\ufeff")
    text = text.strip()
    if not text:
        raise FeedDecodeError("body is empty")
    if text.startswith("<"):
        raise FeedShapeError(f"body is HTML/XML, not JSON: {text[:80]!r}")
    try:
        payload = load_json(text, parse_constant=NonFinite, parse_float=floats)
    except JsonLimitError as exc:
        raise FeedLimitError(f"body cannot be read: {exc.msg}") from None
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text) - 1 or exc.msg.startswith("Unterminated")
        hint = " (truncated?)" if truncated else ""
        raise FeedDecodeError(
            f"body is not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return payload


def _read_status(payload: Mapping[str, Any], result: PageResult[Any]) -> None:
    code = payload.get("status_code")
    if code is None:
        result.page_warnings.append("envelope has no status_code")
    elif isinstance(code, int) and not isinstance(code, bool):
        result.status_code = code
    elif isinstance(code, str) and code.strip().isdigit():
        result.status_code = int(code)
        result.page_warnings.append(f"status_code sent as a string {code!r}")
    else:
        result.page_warnings.append(f"status_code {code!r} is not a number (ignored)")
    message = payload.get("status_message")
    if isinstance(message, str):
        result.status_message = message
    stamp = payload.get("timestamp")
    if stamp is None:
        result.page_warnings.append("envelope has no timestamp")
    else:
        try:
            result.timestamp = parse_datetime(stamp, allow_offset=True)
        except ValueError:
            result.page_warnings.append(f"timestamp {stamp!r} is not a DateTime (ignored)")


# --------------------------------------------------------------------------- object level


def _readable(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _decode_slow(model: type[BaseModel], raw: Any, index: int) -> Decoded[Any] | Reject:
    if not isinstance(raw, dict):
        return Reject(index, None, None, None, f"expected a JSON object, got {type(raw).__name__}", raw)
    repair = _Repair()
    try:
        repaired = repair.model(model, raw, "", ())
    except Exception as exc:  # a repair bug must not sink the page: judge the object as sent
        repaired = raw
        repair = _Repair()
        repair.warnings.append(f"repair pass failed ({type(exc).__name__}); validated as sent")
    try:
        obj = model.model_validate(repaired)
    except ValidationError as exc:
        reasons = describe_errors(exc, model, index_maps=repair.index_maps)
        if repair.hints:
            reasons = [_with_hint(line, repair.hints) for line in reasons]
        reason = "; ".join(reasons)
        return Reject(
            index,
            _readable(raw, "id"),
            _readable(raw, "country_code"),
            _readable(raw, "party_id"),
            reason,
            raw,
        )
    return Decoded(index, obj, tuple(repair.warnings), original=raw if repair.warnings else None)


def _with_hint(line: str, hints: Mapping[str, str]) -> str:
    path, separator, _message = line.partition(": ")
    hint = hints.get(path) if separator else None
    return f"{line} ({hint})" if hint else line


_Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    kind: Literal["enum", "enum_list", "model", "model_list", "datetime"]
    target: Any
    optional: bool


@functools.cache
def _plan(model: type[BaseModel]) -> tuple[_FieldPlan, ...]:
    plans = []
    for name, info in model.model_fields.items():
        annotation = unwrap_annotation(info.annotation)
        optional = not info.is_required()
        item = (
            unwrap_annotation(typing.get_args(annotation)[0])
            if typing.get_origin(annotation) is list
            else None
        )
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            plans.append(_FieldPlan(name, "enum", annotation, optional))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            plans.append(_FieldPlan(name, "model", annotation, optional))
        elif annotation is dt.datetime:
            plans.append(_FieldPlan(name, "datetime", None, optional))
        elif isinstance(item, type) and issubclass(item, Enum):
            plans.append(_FieldPlan(name, "enum_list", item, optional))
        elif isinstance(item, type) and issubclass(item, BaseModel):
            plans.append(_FieldPlan(name, "model_list", item, optional))
    return tuple(plans)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Repair:
    """One object's repair pass: returns repaired copies, never mutates the raw page."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.index_maps: dict[_Loc, list[int]] = {}
        # Field path → why a repair was not made; appended to that field's reject reason.
        self.hints: dict[str, str] = {}

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}" if path else message)

    def model(self, model: type[BaseModel], raw: Mapping[str, Any], path: str, loc: _Loc) -> dict[str, Any]:
        out = dict(raw)
        hook = _HOOKS.get(model)
        if hook is not None:
            hook(self, out, path, loc)
        for plan in _plan(model):
            value = out.get(plan.name)
            if value is None:
                continue
            field_path = _join(path, plan.name)
            field_loc = (*loc, plan.name)
            if plan.kind == "enum":
                out[plan.name] = self.enum(plan.target, value, field_path, plan.optional)
            elif plan.kind == "datetime":
                out[plan.name] = self.datetime(value, field_path, plan.optional)
            elif plan.kind == "model" and isinstance(value, dict):
                out[plan.name] = self.model(plan.target, value, field_path, field_loc)
            elif plan.kind in ("enum_list", "model_list") and isinstance(value, list):
                original = self.index_maps.get(field_loc)
                items = []
                for position, item in enumerate(value):
                    label = f"{field_path}[{original[position] if original else position}]"
                    if plan.kind == "enum_list":
                        items.append(self.enum(plan.target, item, label, False))
                    elif isinstance(item, dict):
                        items.append(self.model(plan.target, item, label, (*field_loc, position)))
                    else:
                        items.append(item)
                out[plan.name] = items
        return out

    def enum(self, enum: type[Enum], value: Any, path: str, optional: bool) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            return enum(text).value
        except ValueError:
            pass
        if not text and optional:
            self.warn(path, "empty string read as absent")
            return None
        member = enum_by_name(enum).get(text.casefold())
        if member is None:
            return value
        self.warn(path, f"{value!r} read as {member.value!r} (enum values are case-sensitive)")
        return member.value

    def datetime(self, value: Any, path: str, optional: bool) -> Any:
        if not isinstance(value, str):
            return value
        if not value.strip() and optional:
            self.warn(path, "empty string read as absent")
            return None
        try:
            parse_datetime(value)
            return value
        except ValueError:
            pass
        try:
            converted = format_datetime(parse_datetime(value, allow_offset=True))
        except ValueError:
            return value
        self.warn(path, f"{value!r} is not UTC; converted to {converted}")
        return converted


# --------------------------------------------------------------------------- per-model repairs


def _missing(raw: Mapping[str, Any], name: str) -> bool:
    return raw.get(name) is None


def _inherit_last_updated(
    repair: _Repair, child: dict[str, Any], parent: Mapping[str, Any], path: str, parent_name: str
) -> dict[str, Any]:
    """A child's missing or placeholder last_updated becomes its parent's (a copy is returned)."""
    value = child.get("last_updated")
    if (value is not None and not is_placeholder_datetime(value)) or _missing(parent, "last_updated"):
        return child
    why = "missing" if value is None else f"{value!r} is a placeholder"
    repair.warn(f"{path}.last_updated", f"{why}; taken from the {parent_name}")
    return {**child, "last_updated": parent["last_updated"]}


def _repair_location(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    _truncate(repair, out, "name", 255, path)
    if "publish" not in out or out["publish"] is None:
        out["publish"] = True
        repair.warn(_join(path, "publish"), "missing; assumed true (published to everyone)")

    zone = out.get("time_zone")
    if isinstance(zone, str) and not is_time_zone(zone.strip()):
        spelled = time_zone_spelling(zone.strip())
        if spelled is not None:
            out["time_zone"] = spelled
            repair.warn(_join(path, "time_zone"), f"{zone!r} read as {spelled!r}")

    if _missing(out, "city"):
        repair.warn(_join(path, "city"), "missing; kept as unknown (not guessed from the address)")

    country = out.get("country")
    if isinstance(country, str):
        alpha3 = country_alpha3(country)
        if alpha3 is not None and alpha3 != country.strip():
            out["country"] = alpha3
            repair.warn(_join(path, "country"), f"{country!r} read as ISO 3166-1 alpha-3 {alpha3!r}")
        elif alpha3 is None:
            _country_from_party(repair, out, country, path)
    elif country is None and isinstance(out.get("time_zone"), str):
        inferred = country_for_time_zone(out["time_zone"])
        if inferred is not None:
            out["country"] = inferred
            repair.warn(
                _join(path, "country"),
                f"missing; {inferred!r} is the only country using time_zone {out['time_zone']!r}",
            )
    zone = out.get("time_zone")
    if zone is None or (isinstance(zone, str) and not zone.strip()):
        _time_zone_from_country(repair, out, path)

    _drop_zero_based_weekdays(repair, out, path)
    _warn_of_a_distant_time_zone(repair, out, path)

    evses = out.get("evses")
    if isinstance(evses, list):
        kept: list[Any] = []
        original: list[int] = []
        for index, evse in enumerate(evses):
            if isinstance(evse, dict) and not evse.get("connectors"):
                repair.warn(
                    f"{_join(path, 'evses')}[{index}]",
                    f"EVSE uid {evse.get('uid')!r} (status {evse.get('status')!r}) dropped: it has no connectors",
                )
                continue
            if isinstance(evse, dict):
                evse = _inherit_last_updated(
                    repair, evse, out, f"{_join(path, 'evses')}[{index}]", "location"
                )
            kept.append(evse)
            original.append(index)
        if len(kept) != len(evses):
            repair.index_maps[(*loc, "evses")] = original
        out["evses"] = kept


def _country_from_party(repair: _Repair, out: dict[str, Any], country: str, path: str) -> None:
    """``country`` is not an ISO code: the party's ``country_code`` only if the value names it.

    "TRY" from a TR party is Turkey's currency code; ISO 4217 codes begin with the issuing
    country's alpha-2, so the value itself says TR and the party agrees: TUR. A value that does
    not begin with the party's code ("Polska", "GER" from an NL party, "TRY" from a BE party) is
    not replaced: operators run sites abroad, and a wrong country would also bring a wrong time
    zone (tariff hours) with it.
    """
    text = country.strip().upper()
    party = out.get("country_code")
    if not (isinstance(party, str) and len(text) == 3 and text.isalpha()):
        return
    code = party.strip().upper()
    alpha3 = ALPHA2_TO_ALPHA3.get(code)
    if alpha3 is None or not text.startswith(code):
        return
    out["country"] = alpha3
    repair.warn(
        _join(path, "country"),
        f"{country!r} is not ISO 3166-1 alpha-3; used {alpha3} from country_code {code}",
    )


# The sun's time at a longitude is 1 hour per 15°; civil time strays from it by up to ~3 h (far-west
# China on Beijing time). A zone further off than this is the operator's default zone (Europe/Moscow
# for a site in Khabarovsk) or a sign mixed up (Etc/GMT+5 is UTC−5): the site's opening hours and
# its tariff's times would be hours off. Which zone is meant cannot be told from a point without the
# zones' borders, so the zone is kept as sent and staff are told.
_ZONE_STRAY_HOURS = 3.5


@functools.cache
def _zone_offsets(zone: str) -> tuple[float, ...]:
    """The zone's UTC offsets in hours, in winter and in summer (empty for an unknown zone)."""
    try:
        info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ()
    return tuple(
        (dt.datetime(2025, month, 1, 12, tzinfo=info).utcoffset() or dt.timedelta()).total_seconds() / 3600 for month in (1, 7)
    )


def zone_stray_hours(zone: str, longitude: float) -> float | None:
    """How many hours the zone's time is from the sun's at `longitude`, when more than a civil
    time strays (see `_ZONE_STRAY_HOURS`); None when it is plausible or the zone is unknown."""
    offsets = _zone_offsets(zone)
    if not offsets:
        return None
    solar = longitude / 15
    distance = min(min(abs(offset - solar) % 24, 24 - abs(offset - solar) % 24) for offset in offsets)
    return distance if distance > _ZONE_STRAY_HOURS else None


def _warn_of_a_distant_time_zone(repair: _Repair, out: dict[str, Any], path: str) -> None:
    zone, coordinates = out.get("time_zone"), out.get("coordinates")
    longitude = _number(coordinates.get("longitude")) if isinstance(coordinates, dict) else None
    if not isinstance(zone, str) or longitude is None or not -180 <= longitude <= 180:
        return
    stray = zone_stray_hours(zone.strip(), float(longitude))
    if stray is not None:
        repair.warn(
            _join(path, "time_zone"),
            f"{zone!r} is {stray:.1f} h from the sun's time at longitude {longitude}: kept as sent, but its opening"
            " hours and tariff times may be that far off (check the zone with the CPO)",
        )


def _time_zone_from_country(repair: _Repair, out: dict[str, Any], path: str) -> None:
    """A missing ``time_zone`` is the country's zone when the country has exactly one."""
    country = out.get("country")
    alpha3 = country_alpha3(country) if isinstance(country, str) else None
    if alpha3 is None:
        return
    zones = time_zones_of_country(alpha3)
    if len(zones) == 1:
        out["time_zone"] = zones[0]
        repair.warn(_join(path, "time_zone"), f"missing; {zones[0]!r} is the only time zone of {alpha3}")
    elif zones:
        repair.hints[_join(path, "time_zone")] = f"{alpha3} has {len(zones)} time zones, not guessed"
    else:
        repair.hints[_join(path, "time_zone")] = f"no time zone is known for {alpha3}"


def _is_weekday_zero(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return value.strip() == "0"
    return isinstance(value, (int, float)) and value == 0


def _same_hours_every_day(regular: list[Any]) -> list[tuple[Any, Any]] | None:
    """The periods, when weekdays 0..6 each have exactly the same ones (in the same order)."""
    days: dict[int, list[tuple[Any, Any]]] = {}
    for entry in regular:
        if not isinstance(entry, dict):
            return None
        weekday = entry.get("weekday")
        day = int(weekday.strip()) if isinstance(weekday, str) and weekday.strip().isdigit() else weekday
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            return None
        days.setdefault(day, []).append((entry.get("period_begin"), entry.get("period_end")))
    if sorted(days) != list(range(7)):
        return None
    first = days[0]
    return first if all(periods == first for periods in days.values()) else None


def _drop_zero_based_weekdays(repair: _Repair, out: dict[str, Any], path: str) -> None:
    """Weekday 0 in regular_hours: the feed counts 0..6, from Sunday or from Monday — unknown.

    Then none of its weekday numbers can be trusted, so dropping only the 0 entry would
    publish wrong days. Without 24/7 the whole ``opening_times`` is dropped (unknown hours,
    which is not "closed"); with ``twentyfourseven: true`` only ``regular_hours`` is.
    """
    hours = out.get("opening_times")
    if not isinstance(hours, dict):
        return
    regular = hours.get("regular_hours")
    if not isinstance(regular, list):
        return
    zeros = [
        i
        for i, entry in enumerate(regular)
        if isinstance(entry, dict) and _is_weekday_zero(entry.get("weekday"))
    ]
    if not zeros:
        return
    field_path = _join(path, "opening_times")
    same = _same_hours_every_day(regular) if hours.get("twentyfourseven") is not True else None
    if same is not None:
        # Whichever day the feed counts from, seven days 0..6 with the same periods say one thing.
        hours_list = [{"weekday": day, "period_begin": begin, "period_end": end} for day in range(1, 8) for begin, end in same]
        out["opening_times"] = {**hours, "regular_hours": hours_list}
        repair.warn(
            f"{field_path}.regular_hours",
            "weekdays counted 0..6, each with the same hours: read as those hours every day (1=Monday..7=Sunday)",
        )
        return
    why = (
        f"regular_hours[{zeros[0]}].weekday is 0: the feed counts weekdays from 0, not 1=Monday..7=Sunday, "
        "so none of its weekdays can be trusted"
    )
    if hours.get("twentyfourseven") is True:
        out["opening_times"] = {key: value for key, value in hours.items() if key != "regular_hours"}
        repair.warn(f"{field_path}.regular_hours", f"dropped ({why}); the location is open 24/7")
    else:
        out["opening_times"] = None
        repair.warn(field_path, f"dropped, hours unknown (not closed): {why}")


def _truncate(repair: _Repair, out: dict[str, Any], name: str, limit: int, path: str) -> None:
    value = out.get(name)
    if isinstance(value, str) and len(value.strip()) > limit:
        out[name] = value.strip()[:limit].rstrip()
        repair.warn(_join(path, name), f"{value!r} is longer than {limit} characters; cut to {out[name]!r}")


def _repair_evse(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    # A label painted on the charger; a long one is still recognisable by its start, and
    # rejecting the whole location for it would hide a working charger from drivers.
    _truncate(repair, out, "physical_reference", 16, path)
    connectors = out.get("connectors")
    if isinstance(connectors, list):
        out["connectors"] = [
            _inherit_last_updated(repair, connector, out, f"{_join(path, 'connectors')}[{index}]", "EVSE")
            if isinstance(connector, dict)
            else connector
            for index, connector in enumerate(connectors)
        ]


def _spelling(value: Any) -> str | None:
    """A number as the feed wrote it (a string stripped, a float as its shortest repr), or None
    for what is not a number or a numeric string (a boolean is not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    return value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _number(value: Any) -> Decimal | None:
    """`value` as an exact finite Decimal, or None when it is none (see `_spelling`)."""
    text = _spelling(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _watts(kilowatts: Decimal) -> int:
    return int((kilowatts * 1000).to_integral_value(ROUND_HALF_EVEN))


# No charger runs below 100 V: a 2.1.1 "voltage" under it, with 0 A, is the power in kW.
_VOLTAGE_FLOOR = Decimal(100)


def _legacy_kilowatts(repair: _Repair, out: dict[str, Any], path: str) -> bool:
    """OCPI 2.1.1 feeds seen with `"voltage": 22, "amperage": 0` on a 22 kW socket: 22 V at 0 A
    is no rating at all, and the number is the power. Read so, with voltage and amperage unknown."""
    if not (_missing(out, "max_voltage") and _missing(out, "max_amperage") and _missing(out, "max_electric_power")):
        return False
    volts, amperes = _number(out.get("voltage")), _number(out.get("amperage"))
    if volts is None or not 0 < volts < _VOLTAGE_FLOOR or (amperes is not None and amperes != 0):
        return False
    watts = _watts(volts)
    out["max_electric_power"] = watts
    repair.warn(
        _join(path, "max_electric_power"),
        f"OCPI 2.1.1 voltage {volts} with amperage {out.get('amperage', 'missing')} read as {volts} kW ({watts} W);"
        " voltage and amperage unknown",
    )
    return True


def _repair_connector(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    zeroed = set()
    for name in ("max_voltage", "max_amperage", "max_electric_power"):
        # No connector is rated 0 V, 0 A or 0 W: the CPO did not know (feeds send 0 for "unknown").
        if _number(out.get(name)) == 0:
            out[name] = None
            zeroed.add(name)
            repair.warn(_join(path, name), "0 read as unknown")
    if _legacy_kilowatts(repair, out, path):
        return
    for old, new in (("voltage", "max_voltage"), ("amperage", "max_amperage")):
        if _missing(out, new) and not _missing(out, old):
            if _number(out[old]) == 0:  # the same "unknown" as a 0 sent in the 2.2.1 field
                repair.warn(_join(path, new), f"missing; the OCPI 2.1.1 field {old!r} is 0, read as unknown")
                continue
            out[new] = out[old]
            repair.warn(_join(path, new), f"missing; taken from the OCPI 2.1.1 field {old!r}")
        elif _missing(out, new) and new not in zeroed:
            repair.warn(_join(path, new), "missing; kept as unknown")
    volts = _number(out.get("max_voltage"))
    if volts is not None and 0 < volts < _VOLTAGE_FLOOR:
        # 22 with 32 A on a 22 kW socket: a power in the wrong field, not a voltage. Which power
        # it is cannot be told for sure, so neither is stored.
        out["max_voltage"] = None
        repair.warn(_join(path, "max_voltage"), f"{volts} V is no charger's rating (below {_VOLTAGE_FLOOR} V); kept as unknown")
    _kilowatts_to_watts(repair, out, path)


# No charging point delivers less than 1 kW: below that the number is kW sent where W is due.
_KILOWATT_LIMIT = Decimal(1000)


def _kilowatts_to_watts(repair: _Repair, out: dict[str, Any], path: str) -> None:
    value = out.get("max_electric_power")
    number = _number(value)
    if number is None or not 0 < number < _KILOWATT_LIMIT:
        return
    watts = _watts(number)
    out["max_electric_power"] = watts
    repair.warn(_join(path, "max_electric_power"), f"{_spelling(value)} read as kW ({watts} W)")


def _location_is_suspect(location: Location) -> bool:
    """Valid as sent, but needs the repair pass for its warnings (or a kW power read as W)."""
    if location.city is None:
        return True
    if zone_stray_hours(location.time_zone, float(location.coordinates.longitude)) is not None:
        return True
    for evse in location.evses or ():
        for connector in evse.connectors:
            power = connector.max_electric_power
            if (
                not connector.max_voltage  # None (missing) or 0 (a placeholder)
                or connector.max_voltage < _VOLTAGE_FLOOR  # no rating
                or not connector.max_amperage
                or (power is not None and power < 1000)
            ):
                return True
    return False


# Objects that validate as sent but still need the repair pass (checked on the typed object).
_SUSPECT: Mapping[type[BaseModel], Callable[[Any], bool]] = {Location: _location_is_suspect}


def _repair_geolocation(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    for name in ("latitude", "longitude"):
        if name in out:
            spelled, note = normalise_coordinate(out[name], name=name)
            out[name] = spelled
            if note is not None:
                repair.warn(_join(path, name), note)


def _repair_tariff(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    currency = out.get("currency")
    if isinstance(currency, str) and currency.strip() != currency.strip().upper():
        out["currency"] = currency.strip().upper()
        repair.warn(_join(path, "currency"), f"{currency!r} read as {out['currency']!r}")


def _end_of_day(name: str) -> _Hook:
    """An end time of "24:00" (the spec's pattern stops at 23:59) can only mean the end of the day,
    which OCPI writes "00:00" for an end: read so. "24:00" as a start stays refused."""

    def repair_end(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
        value = out.get(name)
        if isinstance(value, str) and value.strip() in ("24:00", "24:00:00"):
            out[name] = "00:00"
            repair.warn(_join(path, name), f"{value!r} read as '00:00', the end of the day")

    return repair_end


_Hook = Callable[[_Repair, dict[str, Any], str, _Loc], None]
def _repair_image(repair: _Repair, out: dict[str, Any], path: str, loc: _Loc) -> None:
    # OCPI wants the file type ("jpeg", "png"); some feeds send the MIME type. "image/jpeg"
    # names exactly one such type, and dropping the location for it would hide a charger.
    kind = out.get("type")
    if isinstance(kind, str) and kind.strip().lower().startswith("image/"):
        subtype = kind.strip()[len("image/") :].split(";")[0].strip()
        if 0 < len(subtype) <= 4:
            out["type"] = subtype
            repair.warn(_join(path, "type"), f"MIME type {kind!r} read as {subtype!r}")


_HOOKS: dict[type[BaseModel], _Hook] = {
    Image: _repair_image,
    Location: _repair_location,
    Evse: _repair_evse,
    Connector: _repair_connector,
    Tariff: _repair_tariff,
    RegularHours: _end_of_day("period_end"),
    TariffRestrictions: _end_of_day("end_time"),
}


def _register_geolocations() -> None:
    # AdditionalGeoLocation and any other GeoLocation subclass get the same coordinate repair.
    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        if issubclass(model, GeoLocation):
            _HOOKS[model] = _repair_geolocation
        for plan in _plan(model):
            if plan.kind in ("model", "model_list"):
                visit(plan.target)

    for model in _MODELS.values():
        visit(model)


_register_geolocations()
