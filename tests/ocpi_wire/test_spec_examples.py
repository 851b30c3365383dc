"""Every Location, EVSE, Connector, Tariff and PATCH example of OCPI 2.2.1-d2 parses — except the
ones the checklist §14 calls invalid, which are rejected with a reason naming the field."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from roaming.ocpi.v221.common import DisplayText, EnergyMix, describe_errors
from roaming.ocpi.v221.locations import ConnectorPatch, Evse, EvsePatch, Hours, Location, LocationPatch
from roaming.ocpi.v221.tariffs import Tariff

from .paths import EXAMPLES, example

# File name → (model, key inside the file or None when the file is the object itself).
PARSES: dict[str, tuple[type[BaseModel], str | None]] = {
    "location_example.json": (Location, None),
    "location_example_parking_garage_opening_hours.json": (Location, None),
    "location_example_uc2_destination_charger.json": (Location, None),
    "location_example_uc3_destination_charger_not_published.json": (Location, None),
    "location_example_uc4_limited_visibility.json": (Location, None),
    "location_example_uc5_home_charge_point.json": (Location, None),
    "location_energymix_example_complete.json": (EnergyMix, "energy_mix"),
    "location_energymix_example_energy_provider.json": (EnergyMix, "energy_mix"),
    "location_energymix_example_simple.json": (EnergyMix, "energy_mix"),
    "location_hours_247_open_exception_closing.json": (Hours, None),
    "location_hours_opening_hours_with_exceptional_closing.json": (Hours, None),
    "location_hours_opening_hours_with_exceptional_opening.json": (Hours, None),
    "location_regularhours_example.json": (Hours, "opening_times"),
    # PATCH bodies at the three URL depths (checklist §4.1).
    "location_patch_example_location.json": (LocationPatch, None),
    "location_patch_example_remove_evse.json": (EvsePatch, None),
    "location_patch_example_status.json": (EvsePatch, None),
    "location_patch_example_tariff.json": (ConnectorPatch, None),
    "type_displaytext_example.json": (DisplayText, None),
    **{
        path.name: (Tariff, None)
        for path in EXAMPLES.glob("tariff*.json")
        if path.name != "tariff_put_example.json"
    },
}

# §14: invalid as published.
INVALID = {"location_put_example_add_evse.json", "tariff_put_example.json"}


def test_it_classifies_every_location_and_tariff_example():
    names = {path.name for path in EXAMPLES.glob("location_*.json")} | {
        path.name for path in EXAMPLES.glob("tariff*.json")
    }
    assert names == (set(PARSES) - {"type_displaytext_example.json"}) | INVALID
    assert len([name for name in PARSES if name.startswith("tariff")]) == 19


@pytest.mark.parametrize("name", sorted(PARSES))
def test_it_parses_the_spec_example(name):
    model, key = PARSES[name]
    data = example(name)
    model.model_validate(data[key] if key else data)


@pytest.mark.parametrize("name", sorted(n for n, (m, _) in PARSES.items() if m in (Location, Tariff)))
def test_it_dumps_the_example_back_to_the_same_ocpi_json(name):
    model, _ = PARSES[name]
    data = example(name)
    dumped = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    # Through real JSON text, as it goes on the wire (0.50 and 0.5 are the same JSON number).
    assert json.loads(json.dumps(dumped)) == data


def test_it_parses_the_tariff_embedded_in_the_cdr_example():
    (tariff,) = [Tariff.model_validate(t) for t in example("cdr_example.json")["tariffs"]]
    assert tariff.id == "12"


def test_it_rejects_the_add_evse_example_naming_each_missing_connector_field():
    with pytest.raises(ValidationError) as caught:
        Evse.model_validate(example("location_put_example_add_evse.json"))
    reasons = describe_errors(caught.value, Evse)
    assert reasons == [
        "connectors[0].power_type: required field is missing",
        # max_voltage and max_amperage are missing too, but may be unknown (locations.py).
        "connectors[0].last_updated: required field is missing",
        "physical_reference: expected a string, got 3",
    ]


def test_it_rejects_the_tariff_put_example_for_its_missing_last_updated():
    with pytest.raises(ValidationError) as caught:
        Tariff.model_validate(example("tariff_put_example.json"))
    assert describe_errors(caught.value, Tariff) == ["last_updated: required field is missing"]


def test_it_reads_the_location_example_into_typed_fields():
    location = Location.model_validate(example("location_example.json"))
    assert location.coordinates.latitude_decimal == location.coordinates.latitude_decimal.__class__(
        "51.047599"
    )
    assert location.evses is not None
    assert [e.uid for e in location.evses] == ["3256", "3257"]
    assert location.evses[0].connectors[0].max_voltage == 220
    assert location.last_updated.tzinfo is not None
    assert location.last_updated.utcoffset().total_seconds() == 0
