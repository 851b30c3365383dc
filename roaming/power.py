"""A connector's power, one rule for the map's summary, the admin and the wire models' bounds.
Pure Python (no Django): the OCPI wire layer checks a connector with it before anything is stored."""

from __future__ import annotations

# What max_electric_power itself can say (an integer column): V × A × phases beyond it is a
# sender's error (millivolts, milliamperes), never a charger.
MAX_CONNECTOR_POWER_W = 2_147_483_647


def connector_power_w(power_type: str, voltage: int | None, amperage: int | None, max_electric_power: int | None) -> int:
    """A connector's maximum power in W: max_electric_power, else voltage × amperage × phases; 0 when unknown."""
    if max_electric_power:
        return max_electric_power
    if not (voltage and amperage):
        return 0  # unknown: the map shows no power rather than a wrong one
    return voltage * amperage * phases(power_type)


def phases(power_type: str) -> int:
    return 3 if power_type == "AC_3_PHASE" else (2 if power_type.startswith("AC_2") else 1)
