"""OCPI 2.2.1 JSON (already decoded to dicts/lists) → the engine's typed objects.

This is the only module of `roaming.pricing` that reads JSON. Every problem raises
`PricingInputError` whose `field` is the JSON path ("elements[1].price_components[0].type",
"tariffs[0].currency", "charging_periods[2].dimensions[0].volume").

Numbers may arrive as int, str, Decimal or float. Floats are read through their shortest
repr (0.25 → Decimal("0.25")), which is what the sender wrote; decode with
`json.loads(text, parse_float=Decimal)` (see `load_json`) to skip that step entirely.
DateTimes without an offset are UTC, as OCPI prescribes.
Unknown object fields are ignored (forward compatibility); unknown enum values are errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from roaming.pricing.errors import PricingInputError
from roaming.pricing.types import (
    Cdr,
    CdrChargingPeriod,
    CdrDimensionType,
    DayOfWeek,
    Price,
    PriceComponent,
    ReservationRestriction,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
)

__all__ = ["load_json", "parse_cdr", "parse_price", "parse_tariff"]

_TIME_OF_DAY = re.compile(r"([0-1][0-9]|2[0-3]):[0-5][0-9]")
_DATE = re.compile(r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_TARIFF_TYPES = frozenset({"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"})

T = TypeVar("T")


def load_json(text: str | bytes) -> Any:
    """Decode JSON with every non-integer number as Decimal."""
    try:
        return json.loads(text, parse_float=Decimal)
    except (ValueError, TypeError) as error:
        raise PricingInputError("", f"not valid JSON: {error}") from None


def parse_tariff(data: Any, *, path: str = "") -> Tariff:
    obj = _object(data, path)
    elements = _list(obj, "elements", path, required=True)
    parsed_elements = tuple(_parse_element(item, _join(path, f"elements[{index}]"))
                            for index, item in enumerate(elements))
    tariff_type = _optional_str(obj, "type", path)
    if tariff_type is not None and tariff_type not in _TARIFF_TYPES:
        raise PricingInputError(_join(path, "type"), f"unknown tariff type {tariff_type!r}")
    alt_text = tuple(
        (_str(_object(entry, _join(path, f"tariff_alt_text[{index}]")), "language",
              _join(path, f"tariff_alt_text[{index}]")),
         _str(entry, "text", _join(path, f"tariff_alt_text[{index}]")))
        for index, entry in enumerate(_list(obj, "tariff_alt_text", path))
    )
    return _build(path, Tariff,
                  id=_str(obj, "id", path),
                  currency=_str(obj, "currency", path),
                  elements=parsed_elements,
                  min_price=_optional(obj, "min_price", path, parse_price),
                  max_price=_optional(obj, "max_price", path, parse_price),
                  start_date_time=_optional(obj, "start_date_time", path, _datetime),
                  end_date_time=_optional(obj, "end_date_time", path, _datetime),
                  country_code=_optional_str(obj, "country_code", path) or "",
                  party_id=_optional_str(obj, "party_id", path) or "",
                  type=tariff_type,
                  alt_text=alt_text,
                  alt_url=_optional_str(obj, "tariff_alt_url", path))


def parse_price(data: Any, path: str = "") -> Price:
    obj = _object(data, path)
    return Price(excl_vat=_decimal(_required(obj, "excl_vat", path), _join(path, "excl_vat")),
                 incl_vat=_optional(obj, "incl_vat", path, _decimal))


def parse_cdr(data: Any, *, path: str = "") -> Cdr:
    """A received CDR. Its embedded tariffs must be valid tariffs; totals are kept as sent."""
    obj = _object(data, path)
    tariffs = tuple(parse_tariff(item, path=_join(path, f"tariffs[{index}]"))
                    for index, item in enumerate(_list(obj, "tariffs", path)))
    periods_raw = _list(obj, "charging_periods", path, required=True)
    periods = tuple(_parse_cdr_period(item, _join(path, f"charging_periods[{index}]"))
                    for index, item in enumerate(periods_raw))
    location = obj.get("cdr_location")
    country = ""
    if isinstance(location, Mapping) and isinstance(location.get("country"), str):
        country = location["country"]
    credit = obj.get("credit", False)
    if not isinstance(credit, bool):
        raise PricingInputError(_join(path, "credit"), "must be true or false")
    return Cdr(
        id=_str(obj, "id", path),
        currency=_str(obj, "currency", path),
        start=_datetime(_required(obj, "start_date_time", path), _join(path, "start_date_time")),
        end=_datetime(_required(obj, "end_date_time", path), _join(path, "end_date_time")),
        tariffs=tariffs,
        charging_periods=periods,
        total_cost=parse_price(_required(obj, "total_cost", path), _join(path, "total_cost")),
        total_energy=_decimal(_required(obj, "total_energy", path), _join(path, "total_energy")),
        total_time=_decimal(_required(obj, "total_time", path), _join(path, "total_time")),
        total_fixed_cost=_optional(obj, "total_fixed_cost", path, parse_price),
        total_energy_cost=_optional(obj, "total_energy_cost", path, parse_price),
        total_time_cost=_optional(obj, "total_time_cost", path, parse_price),
        total_parking_time=_optional(obj, "total_parking_time", path, _decimal),
        total_parking_cost=_optional(obj, "total_parking_cost", path, parse_price),
        total_reservation_cost=_optional(obj, "total_reservation_cost", path, parse_price),
        credit=credit,
        credit_reference_id=_optional_str(obj, "credit_reference_id", path),
        session_id=_optional_str(obj, "session_id", path),
        country_code=_optional_str(obj, "country_code", path) or "",
        party_id=_optional_str(obj, "party_id", path) or "",
        location_country=country,
    )


# ---------------------------------------------------------------------------------------------


def _parse_element(data: Any, path: str) -> TariffElement:
    obj = _object(data, path)
    components = tuple(_parse_component(item, _join(path, f"price_components[{index}]"))
                       for index, item in enumerate(_list(obj, "price_components", path, required=True)))
    restrictions = _optional(obj, "restrictions", path, _parse_restrictions)
    return _build(path, TariffElement, price_components=components, restrictions=restrictions)


def _parse_component(data: Any, path: str) -> PriceComponent:
    obj = _object(data, path)
    return _build(path, PriceComponent,
                  dimension=_enum(TariffDimension, _required(obj, "type", path), _join(path, "type")),
                  price=_decimal(_required(obj, "price", path), _join(path, "price")),
                  step_size=_int(_required(obj, "step_size", path), _join(path, "step_size")),
                  vat=_optional(obj, "vat", path, _decimal))


def _parse_restrictions(data: Any, path: str) -> TariffRestrictions:
    obj = _object(data, path)
    days = _list(obj, "day_of_week", path)
    day_set = frozenset(_enum_by_name(DayOfWeek, day, _join(path, f"day_of_week[{index}]"))
                        for index, day in enumerate(days))
    return _build(path, TariffRestrictions,
                  start_time=_optional(obj, "start_time", path, _time_of_day),
                  end_time=_optional(obj, "end_time", path, _time_of_day),
                  start_date=_optional(obj, "start_date", path, _date),
                  end_date=_optional(obj, "end_date", path, _date),
                  min_kwh=_optional(obj, "min_kwh", path, _decimal),
                  max_kwh=_optional(obj, "max_kwh", path, _decimal),
                  min_current=_optional(obj, "min_current", path, _decimal),
                  max_current=_optional(obj, "max_current", path, _decimal),
                  min_power=_optional(obj, "min_power", path, _decimal),
                  max_power=_optional(obj, "max_power", path, _decimal),
                  min_duration=_optional(obj, "min_duration", path, _int),
                  max_duration=_optional(obj, "max_duration", path, _int),
                  day_of_week=day_set,
                  reservation=_optional(obj, "reservation", path,
                                        lambda value, where: _enum(ReservationRestriction, value, where)))


def _parse_cdr_period(data: Any, path: str) -> CdrChargingPeriod:
    obj = _object(data, path)
    dimensions = []
    for index, item in enumerate(_list(obj, "dimensions", path, required=True)):
        where = _join(path, f"dimensions[{index}]")
        dimension = _object(item, where)
        dimensions.append((_enum(CdrDimensionType, _required(dimension, "type", where), _join(where, "type")),
                           _decimal(_required(dimension, "volume", where), _join(where, "volume"))))
    return CdrChargingPeriod(
        start=_datetime(_required(obj, "start_date_time", path), _join(path, "start_date_time")),
        dimensions=tuple(dimensions),
        tariff_id=_optional_str(obj, "tariff_id", path),
    )


# --- primitives ------------------------------------------------------------------------------


def _join(path: str, name: str) -> str:
    if not path:
        return name
    return path + name if name.startswith("[") else f"{path}.{name}"


def _build(path: str, factory: Callable[..., T], **fields: Any) -> T:
    try:
        return factory(**fields)
    except PricingInputError as error:
        raise error.within(path) from None


def _object(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PricingInputError(path, f"expected an object, got {type(data).__name__}")
    return data


def _required(obj: Mapping[str, Any], name: str, path: str) -> Any:
    value = obj.get(name)
    if value is None:
        raise PricingInputError(_join(path, name), "is required")
    return value


def _optional(obj: Mapping[str, Any], name: str, path: str, reader: Callable[[Any, str], T]) -> T | None:
    value = obj.get(name)
    return None if value is None else reader(value, _join(path, name))


def _list(obj: Mapping[str, Any], name: str, path: str, *, required: bool = False) -> Sequence[Any]:
    value = obj.get(name)
    where = _join(path, name)
    if value is None:
        if required:
            raise PricingInputError(where, "is required")
        return ()
    if not isinstance(value, list | tuple):
        raise PricingInputError(where, f"expected a list, got {type(value).__name__}")
    if required and not value:
        raise PricingInputError(where, "must not be empty")
    return value


def _str(obj: Mapping[str, Any], name: str, path: str) -> str:
    value = _required(obj, name, path)
    if not isinstance(value, str):
        raise PricingInputError(_join(path, name), f"expected a string, got {type(value).__name__}")
    return value


def _optional_str(obj: Mapping[str, Any], name: str, path: str) -> str | None:
    return None if obj.get(name) is None else _str(obj, name, path)


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool):
        raise PricingInputError(path, "expected a number, got a boolean")
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise PricingInputError(path, f"expected a number, got {type(value).__name__}")
    except InvalidOperation:
        raise PricingInputError(path, f"not a number: {value!r}") from None
    if not number.is_finite():
        raise PricingInputError(path, f"not a finite number: {value!r}")
    return number


def _int(value: Any, path: str) -> int:
    number = _decimal(value, path)
    if number != number.to_integral_value():
        raise PricingInputError(path, f"expected a whole number, got {value!r}")
    return int(number)


def _enum(kind: Callable[[str], T], value: Any, path: str) -> T:
    if not isinstance(value, str):
        raise PricingInputError(path, f"expected a string, got {type(value).__name__}")
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)  # type: ignore[attr-defined]
        raise PricingInputError(path, f"unknown value {value!r} (expected one of {allowed})") from None


def _enum_by_name(kind: type[DayOfWeek], value: Any, path: str) -> DayOfWeek:
    if not isinstance(value, str) or value not in kind.__members__:
        raise PricingInputError(path, f"unknown day {value!r} (expected MONDAY … SUNDAY)")
    return kind[value]


def _time_of_day(value: Any, path: str) -> time:
    if not isinstance(value, str) or not _TIME_OF_DAY.fullmatch(value):
        raise PricingInputError(path, f"expected HH:MM (00:00–23:59), got {value!r}")
    return time(int(value[:2]), int(value[3:]))


def _date(value: Any, path: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise PricingInputError(path, f"expected YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PricingInputError(path, f"not a calendar date: {value!r}") from None


def _datetime(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise PricingInputError(path, f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PricingInputError(path, f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
