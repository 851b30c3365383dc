"""An independent reading of the OCPI 2.2.1 rules (checklist §2.5, §4, §5) for generated objects.

Deliberately not the project's pydantic models: a second, plain implementation that returns
every problem as "path: what", so a failing test names the field.
"""

from __future__ import annotations

import re
from typing import Any

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
PRINTABLE_ASCII = re.compile(r"^[\x20-\x7E]+$")

STATUS = {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"}
CAPABILITY = {
    "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL", "REMOTE_START_STOP_CAPABLE", "RESERVABLE",
    "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE",
}
CONNECTOR_TYPE = {
    "CHADEMO", "CHAOJI", *(f"DOMESTIC_{letter}" for letter in "ABCDEFGHIJKLMNO"), "GBT_AC", "GBT_DC",
    "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64",
    "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C",
    "NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
    "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
}
CONNECTOR_FORMAT = {"SOCKET", "CABLE"}
POWER_TYPE = {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"}
PARKING_TYPE = {"ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET", "UNDERGROUND_GARAGE"}
PARKING_RESTRICTION = {"EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"}
FACILITY = {
    "HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE", "MUSEUM",
    "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP", "METRO_STATION", "TRAIN_STATION", "AIRPORT",
    "PARKING_LOT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI",
}
IMAGE_CATEGORY = {"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"}
ENERGY_SOURCE = {"NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER"}
ENVIRONMENTAL_IMPACT = {"NUCLEAR_WASTE", "CARBON_DIOXIDE"}
TOKEN_TYPE = {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"}
TARIFF_TYPE = {"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"}
DIMENSION = {"ENERGY", "FLAT", "PARKING_TIME", "TIME"}
DAY_OF_WEEK = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}
RESERVATION = {"RESERVATION", "RESERVATION_EXPIRES"}

LOCATION_FIELDS = {
    "country_code", "party_id", "id", "publish", "publish_allowed_to", "name", "address", "city", "postal_code",
    "state", "country", "coordinates", "related_locations", "parking_type", "evses", "directions", "operator",
    "suboperator", "owner", "facilities", "time_zone", "opening_times", "charging_when_closed", "images",
    "energy_mix", "last_updated",
}
EVSE_FIELDS = {
    "uid", "evse_id", "status", "status_schedule", "capabilities", "connectors", "floor_level", "coordinates",
    "physical_reference", "directions", "parking_restrictions", "images", "last_updated",
}
CONNECTOR_FIELDS = {
    "id", "standard", "format", "power_type", "max_voltage", "max_amperage", "max_electric_power", "tariff_ids",
    "terms_and_conditions", "last_updated",
}
TARIFF_FIELDS = {
    "country_code", "party_id", "id", "currency", "type", "tariff_alt_text", "tariff_alt_url", "min_price",
    "max_price", "elements", "start_date_time", "end_date_time", "energy_mix", "last_updated",
}
RESTRICTION_FIELDS = {
    "start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh", "min_current", "max_current",
    "min_power", "max_power", "min_duration", "max_duration", "day_of_week", "reservation",
}


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, what: str) -> None:
        self.problems.append(f"{path}: {what}")

    def fields(self, obj: Any, path: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        """The object with each missing required field reported and set to MISSING (so the
        per-field checks report it too instead of failing); None if it is not an object."""
        if not isinstance(obj, dict):
            self.fail(path, f"expected an object, got {obj!r}")
            return None
        for name in sorted(required - obj.keys()):
            self.fail(f"{path}.{name}", "required field is missing")
        for name in sorted(obj.keys() - allowed):
            self.fail(f"{path}.{name}", "not a field of this object")
        for name, value in obj.items():
            if value is None:
                self.fail(f"{path}.{name}", "null (leave the field out instead)")
        return {**dict.fromkeys(required, MISSING), **obj}

    def string(self, value: Any, path: str, max_length: int, *, ci: bool = False) -> None:
        if not isinstance(value, str) or not value:
            self.fail(path, f"expected a non-empty string, got {value!r}")
        elif len(value) > max_length:
            self.fail(path, f"{len(value)} characters, at most {max_length}")
        elif ci and not PRINTABLE_ASCII.match(value):
            self.fail(path, f"{value!r} is not printable ASCII (CiString)")
        elif value != value.strip():
            self.fail(path, f"{value!r} has surrounding whitespace")

    def enum(self, value: Any, path: str, allowed: set[str]) -> None:
        if value not in allowed:
            self.fail(path, f"{value!r} is not one of the enum's values")

    def enums(self, values: Any, path: str, allowed: set[str]) -> None:
        if not isinstance(values, list) or not values:
            self.fail(path, "expected a non-empty list (leave an empty list out)")
            return
        if len(set(values)) != len(values):
            self.fail(path, f"duplicates in {values}")
        for index, value in enumerate(values):
            self.enum(value, f"{path}[{index}]", allowed)

    def datetime(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not DATETIME.match(value):
            self.fail(path, f"{value!r} is not YYYY-MM-DDTHH:MM:SSZ")

    def integer(self, value: Any, path: str, low: int = 0, high: int | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            self.fail(path, f"{value!r} is not an integer in [{low}, {high}]")

    def number(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.fail(path, f"{value!r} is not a non-negative number")

    def geolocation(self, value: Any, path: str) -> None:
        if (value := self.fields(value, path, {"latitude", "longitude", "name"}, {"latitude", "longitude"})) is not None:
            if not (isinstance(value["latitude"], str) and LATITUDE.match(value["latitude"])):
                self.fail(f"{path}.latitude", f"{value['latitude']!r} does not match the spec's regex")
            if not (isinstance(value["longitude"], str) and LONGITUDE.match(value["longitude"])):
                self.fail(f"{path}.longitude", f"{value['longitude']!r} does not match the spec's regex")
            if "name" in value:
                self.display_text(value["name"], f"{path}.name")

    def display_text(self, value: Any, path: str) -> None:
        if (value := self.fields(value, path, {"language", "text"}, {"language", "text"})) is not None:
            if not (isinstance(value["language"], str) and re.match(r"^[a-z]{2}$", value["language"])):
                self.fail(f"{path}.language", f"{value['language']!r} is not ISO 639-1")
            self.string(value["text"], f"{path}.text", 512)

    def image(self, value: Any, path: str) -> None:
        if (value := self.fields(value, path, {"url", "thumbnail", "category", "type", "width", "height"}, {"url", "category", "type"})) is not None:
            self.url(value["url"], f"{path}.url")
            if "thumbnail" in value:
                self.url(value["thumbnail"], f"{path}.thumbnail")
            self.enum(value["category"], f"{path}.category", IMAGE_CATEGORY)
            self.string(value["type"], f"{path}.type", 4, ci=True)
            for name in ("width", "height"):
                if name in value:
                    self.integer(value[name], f"{path}.{name}", 0, 99999)

    def url(self, value: Any, path: str) -> None:
        self.string(value, path, 255)
        if isinstance(value, str) and not value.startswith("https://"):
            self.fail(path, f"{value!r} is not an https URL")

    def business(self, value: Any, path: str) -> None:
        if (value := self.fields(value, path, {"name", "website", "logo"}, {"name"})) is not None:
            self.string(value["name"], f"{path}.name", 100)
            if "website" in value:
                self.url(value["website"], f"{path}.website")
            if "logo" in value:
                self.image(value["logo"], f"{path}.logo")

    def energy_mix(self, value: Any, path: str) -> None:
        allowed = {"is_green_energy", "energy_sources", "environ_impact", "supplier_name", "energy_product_name"}
        value = self.fields(value, path, allowed, {"is_green_energy"})
        if value is None:
            return
        if not isinstance(value["is_green_energy"], bool):
            self.fail(f"{path}.is_green_energy", "not a boolean")
        for index, source in enumerate(value.get("energy_sources", [])):
            if (source := self.fields(source, f"{path}.energy_sources[{index}]", {"source", "percentage"}, {"source", "percentage"})) is not None:
                self.enum(source["source"], f"{path}.energy_sources[{index}].source", ENERGY_SOURCE)
                self.number(source["percentage"], f"{path}.energy_sources[{index}].percentage")
        percentages = [s.get("percentage") for s in value.get("energy_sources", []) if isinstance(s, dict)]
        if percentages and all(isinstance(p, int | float) for p in percentages) and abs(sum(percentages) - 100) > 0.5:
            self.fail(f"{path}.energy_sources", "percentages do not add up to 100")
        for index, impact in enumerate(value.get("environ_impact", [])):
            if (impact := self.fields(impact, f"{path}.environ_impact[{index}]", {"category", "amount"}, {"category", "amount"})) is not None:
                self.enum(impact["category"], f"{path}.environ_impact[{index}].category", ENVIRONMENTAL_IMPACT)
                self.number(impact["amount"], f"{path}.environ_impact[{index}].amount")
        for name in ("supplier_name", "energy_product_name"):
            if name in value:
                self.string(value[name], f"{path}.{name}", 64)

    def hours(self, value: Any, path: str) -> None:
        allowed = {"twentyfourseven", "regular_hours", "exceptional_openings", "exceptional_closings"}
        value = self.fields(value, path, allowed, {"twentyfourseven"})
        if value is None:
            return
        if not value["twentyfourseven"] and not value.get("regular_hours"):
            self.fail(f"{path}.regular_hours", "required when not twentyfourseven")
        if value["twentyfourseven"] and "regular_hours" in value:
            self.fail(f"{path}.regular_hours", "given although twentyfourseven")
        for index, period in enumerate(value.get("regular_hours", [])):
            where = f"{path}.regular_hours[{index}]"
            if (period := self.fields(period, where, {"weekday", "period_begin", "period_end"}, {"weekday", "period_begin", "period_end"})) is not None:
                self.integer(period["weekday"], f"{where}.weekday", 1, 7)
                for name in ("period_begin", "period_end"):
                    if not HHMM.match(str(period[name])):
                        self.fail(f"{where}.{name}", f"{period[name]!r} is not HH:MM")
                if str(period["period_begin"]) >= str(period["period_end"]):
                    self.fail(where, "period_begin is not before period_end")
        for name in ("exceptional_openings", "exceptional_closings"):
            for index, period in enumerate(value.get(name, [])):
                where = f"{path}.{name}[{index}]"
                if (period := self.fields(period, where, {"period_begin", "period_end"}, {"period_begin", "period_end"})) is not None:
                    self.datetime(period["period_begin"], f"{where}.period_begin")
                    self.datetime(period["period_end"], f"{where}.period_end")
                    if str(period["period_begin"]) >= str(period["period_end"]):
                        self.fail(where, "period_begin is not before period_end")

    def publish_token(self, value: Any, path: str) -> None:
        allowed = {"uid", "type", "visual_number", "issuer", "group_id"}
        value = self.fields(value, path, allowed, set())
        if value is None:
            return
        if not {"uid", "visual_number", "group_id"} & value.keys():
            self.fail(path, "needs one of uid, visual_number, group_id")
        if "uid" in value:
            self.string(value["uid"], f"{path}.uid", 36, ci=True)
            if "type" not in value:
                self.fail(f"{path}.type", "required with uid")
        if "type" in value:
            self.enum(value["type"], f"{path}.type", TOKEN_TYPE)
        if "visual_number" in value:
            self.string(value["visual_number"], f"{path}.visual_number", 64)
            if "issuer" not in value:
                self.fail(f"{path}.issuer", "required with visual_number")
        if "issuer" in value:
            self.string(value["issuer"], f"{path}.issuer", 64)
        if "group_id" in value:
            self.string(value["group_id"], f"{path}.group_id", 36, ci=True)

    def connector(self, value: Any, path: str) -> None:
        required = {"id", "standard", "format", "power_type", "max_voltage", "max_amperage", "last_updated"}
        value = self.fields(value, path, CONNECTOR_FIELDS, required)
        if value is None:
            return
        self.string(value["id"], f"{path}.id", 36, ci=True)
        self.enum(value["standard"], f"{path}.standard", CONNECTOR_TYPE)
        self.enum(value["format"], f"{path}.format", CONNECTOR_FORMAT)
        self.enum(value["power_type"], f"{path}.power_type", POWER_TYPE)
        self.integer(value["max_voltage"], f"{path}.max_voltage", 1)
        self.integer(value["max_amperage"], f"{path}.max_amperage", 1)
        if "max_electric_power" in value:
            self.integer(value["max_electric_power"], f"{path}.max_electric_power", 1000)
        for index, tariff_id in enumerate(value.get("tariff_ids", [])):
            self.string(tariff_id, f"{path}.tariff_ids[{index}]", 36, ci=True)
        if "terms_and_conditions" in value:
            self.url(value["terms_and_conditions"], f"{path}.terms_and_conditions")
        self.datetime(value["last_updated"], f"{path}.last_updated")

    def evse(self, value: Any, path: str) -> None:
        value = self.fields(value, path, EVSE_FIELDS, {"uid", "status", "connectors", "last_updated"})
        if value is None:
            return
        self.string(value["uid"], f"{path}.uid", 36, ci=True)
        if "evse_id" in value:
            self.string(value["evse_id"], f"{path}.evse_id", 48, ci=True)
        self.enum(value["status"], f"{path}.status", STATUS)
        for index, entry in enumerate(value.get("status_schedule", [])):
            where = f"{path}.status_schedule[{index}]"
            if (entry := self.fields(entry, where, {"period_begin", "period_end", "status"}, {"period_begin", "status"})) is not None:
                self.datetime(entry["period_begin"], f"{where}.period_begin")
                if "period_end" in entry:
                    self.datetime(entry["period_end"], f"{where}.period_end")
                self.enum(entry["status"], f"{where}.status", STATUS)
        if "capabilities" in value:
            self.enums(value["capabilities"], f"{path}.capabilities", CAPABILITY)
        connectors = value["connectors"]
        if not isinstance(connectors, list) or not connectors:
            self.fail(f"{path}.connectors", "needs at least one connector")
        else:
            ids = [c.get("id", "").casefold() for c in connectors if isinstance(c, dict)]
            if len(set(ids)) != len(ids):
                self.fail(f"{path}.connectors", "duplicate connector ids")
            for index, connector in enumerate(connectors):
                self.connector(connector, f"{path}.connectors[{index}]")
        if "floor_level" in value:
            self.string(value["floor_level"], f"{path}.floor_level", 4)
        if "coordinates" in value:
            self.geolocation(value["coordinates"], f"{path}.coordinates")
        if "physical_reference" in value:
            self.string(value["physical_reference"], f"{path}.physical_reference", 16)
        for index, text in enumerate(value.get("directions", [])):
            self.display_text(text, f"{path}.directions[{index}]")
        if "parking_restrictions" in value:
            self.enums(value["parking_restrictions"], f"{path}.parking_restrictions", PARKING_RESTRICTION)
        for index, image in enumerate(value.get("images", [])):
            self.image(image, f"{path}.images[{index}]")
        self.datetime(value["last_updated"], f"{path}.last_updated")

    def location(self, value: Any) -> None:
        required = {"country_code", "party_id", "id", "publish", "address", "city", "country", "coordinates",
                    "time_zone", "last_updated"}
        value = self.fields(value, "", LOCATION_FIELDS, required)
        if value is None:
            return
        if not re.match(r"^[A-Z]{2}$", str(value["country_code"])):
            self.fail(".country_code", "not CiString(2) upper case")
        if not re.match(r"^[A-Z0-9]{3}$", str(value["party_id"])):
            self.fail(".party_id", "not CiString(3)")
        self.string(value["id"], ".id", 36, ci=True)
        if not isinstance(value["publish"], bool):
            self.fail(".publish", "not a boolean")
        if value["publish"] is False and "publish_allowed_to" not in value:
            self.fail(".publish_allowed_to", "unpublished without anyone allowed (this network always names them)")
        if value["publish"] is True and "publish_allowed_to" in value:
            self.fail(".publish_allowed_to", "only meaningful when publish is false")
        for index, token in enumerate(value.get("publish_allowed_to", [])):
            self.publish_token(token, f".publish_allowed_to[{index}]")
        if "name" in value:
            self.string(value["name"], ".name", 255)
        self.string(value["address"], ".address", 255)
        self.string(value["city"], ".city", 45)
        if "postal_code" in value:
            self.string(value["postal_code"], ".postal_code", 10)
        if "state" in value:
            self.string(value["state"], ".state", 45)
        if not re.match(r"^[A-Z]{3}$", str(value["country"])):
            self.fail(".country", f"{value['country']!r} is not an alpha-3 code")
        self.geolocation(value["coordinates"], ".coordinates")
        for index, related in enumerate(value.get("related_locations", [])):
            self.geolocation(related, f".related_locations[{index}]")
        if "parking_type" in value:
            self.enum(value["parking_type"], ".parking_type", PARKING_TYPE)
        evses = value.get("evses", [])
        uids = [e.get("uid", "").casefold() for e in evses if isinstance(e, dict)]
        if len(set(uids)) != len(uids):
            self.fail(".evses", "duplicate EVSE uids")
        for index, evse in enumerate(evses):
            self.evse(evse, f".evses[{index}]")
        for index, text in enumerate(value.get("directions", [])):
            self.display_text(text, f".directions[{index}]")
        for name in ("operator", "suboperator", "owner"):
            if name in value:
                self.business(value[name], f".{name}")
        if "facilities" in value:
            self.enums(value["facilities"], ".facilities", FACILITY)
        self.string(value["time_zone"], ".time_zone", 255)
        if "opening_times" in value:
            self.hours(value["opening_times"], ".opening_times")
        if "charging_when_closed" in value and not isinstance(value["charging_when_closed"], bool):
            self.fail(".charging_when_closed", "not a boolean")
        for index, image in enumerate(value.get("images", [])):
            self.image(image, f".images[{index}]")
        if "energy_mix" in value:
            self.energy_mix(value["energy_mix"], ".energy_mix")
        self.datetime(value["last_updated"], ".last_updated")

    def price(self, value: Any, path: str) -> None:
        if (value := self.fields(value, path, {"excl_vat", "incl_vat"}, {"excl_vat"})) is not None:
            self.number(value["excl_vat"], f"{path}.excl_vat")
            if "incl_vat" in value:
                self.number(value["incl_vat"], f"{path}.incl_vat")
                if isinstance(value["excl_vat"], int | float) and value["incl_vat"] < value["excl_vat"]:
                    self.fail(path, "incl_vat below excl_vat")

    def restrictions(self, value: Any, path: str) -> None:
        value = self.fields(value, path, RESTRICTION_FIELDS, set())
        if value is None:
            return
        if not value:
            self.fail(path, "empty restrictions (leave them out)")
        for name in ("start_time", "end_time"):
            if name in value and not HHMM.match(str(value[name])):
                self.fail(f"{path}.{name}", f"{value[name]!r} is not HH:MM")
        for name in ("start_date", "end_date"):
            if name in value and not DATE.match(str(value[name])):
                self.fail(f"{path}.{name}", f"{value[name]!r} is not YYYY-MM-DD")
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"):
            if name in value:
                self.number(value[name], f"{path}.{name}")
        for name in ("min_duration", "max_duration"):
            if name in value:
                self.integer(value[name], f"{path}.{name}")
        if "day_of_week" in value:
            self.enums(value["day_of_week"], f"{path}.day_of_week", DAY_OF_WEEK)
        if "reservation" in value:
            self.enum(value["reservation"], f"{path}.reservation", RESERVATION)

    def tariff(self, value: Any) -> None:
        required = {"country_code", "party_id", "id", "currency", "elements", "last_updated"}
        value = self.fields(value, "", TARIFF_FIELDS, required)
        if value is None:
            return
        self.string(value["id"], ".id", 36, ci=True)
        if not re.match(r"^[A-Z]{3}$", str(value["currency"])):
            self.fail(".currency", f"{value['currency']!r} is not ISO 4217")
        if "type" in value:
            self.enum(value["type"], ".type", TARIFF_TYPE)
        for index, text in enumerate(value.get("tariff_alt_text", [])):
            self.display_text(text, f".tariff_alt_text[{index}]")
        if "tariff_alt_url" in value:
            self.url(value["tariff_alt_url"], ".tariff_alt_url")
        for name in ("min_price", "max_price"):
            if name in value:
                self.price(value[name], f".{name}")
        elements = value["elements"]
        if not isinstance(elements, list) or not elements:
            self.fail(".elements", "needs at least one element")
            return
        for index, element in enumerate(elements):
            where = f".elements[{index}]"
            element = self.fields(element, where, {"price_components", "restrictions"}, {"price_components"})
            if element is None:
                continue
            components = element["price_components"]
            if not isinstance(components, list) or not components:
                self.fail(f"{where}.price_components", "needs at least one component")
                components = []
            reserved = isinstance(element.get("restrictions"), dict) and "reservation" in element["restrictions"]
            for number, component in enumerate(components):
                path = f"{where}.price_components[{number}]"
                if (component := self.fields(component, path, {"type", "price", "vat", "step_size"}, {"type", "price", "step_size"})) is not None:
                    self.enum(component["type"], f"{path}.type", DIMENSION)
                    self.number(component["price"], f"{path}.price")
                    if "vat" in component:
                        self.number(component["vat"], f"{path}.vat")
                    self.integer(component["step_size"], f"{path}.step_size")
                    if reserved and component["type"] not in ("FLAT", "TIME"):
                        self.fail(f"{path}.type", "reservation elements use only FLAT and TIME")
            if "restrictions" in element:
                self.restrictions(element["restrictions"], f"{where}.restrictions")
        for name in ("start_date_time", "end_date_time"):
            if name in value:
                self.datetime(value[name], f".{name}")
        if "energy_mix" in value:
            self.energy_mix(value["energy_mix"], ".energy_mix")
        self.datetime(value["last_updated"], ".last_updated")


def location_problems(location: dict[str, Any]) -> list[str]:
    checker = _Checker()
    checker.location(location)
    return checker.problems


def tariff_problems(tariff: dict[str, Any]) -> list[str]:
    checker = _Checker()
    checker.tariff(tariff)
    return checker.problems
