"""Price a session under an OCPI 2.2.1 tariff, or recompute and reconcile a CDR; prints JSON.

    manage.py ocpi_price --tariff T.json --kwh 20 --minutes 60 --start 2019-06-04T10:00 --tz Europe/Berlin
    manage.py ocpi_price --cdr CDR.json [--tariff T.json] [--tz Europe/Brussels] [--tolerance 0.01]

Reads files and calls `roaming.pricing`; touches no database. Amounts are printed as strings
(Decimal). Bad input: one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from roaming.pricing.engine import price_session
from roaming.pricing.errors import PricingError, PricingInputError
from roaming.pricing.parse import load_json, parse_cdr, parse_tariff
from roaming.pricing.reconcile import DEFAULT_TOLERANCE, Reconciliation, guess_time_zone, reconcile
from roaming.pricing.types import ChargingPeriod, ChargingProfile, CostBreakdown, PeriodState, load_zone


class Command(BaseCommand):
    help = "Compute the cost of a session under an OCPI tariff, or reconcile a CDR (JSON output)."
    requires_system_checks: list[str] = []  # a file-in, JSON-out tool: no database, no checks needed

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tariff", help="OCPI 2.2.1 Tariff JSON file (optional with --cdr: it embeds its own)")
        parser.add_argument("--cdr", help="OCPI 2.2.1 CDR JSON file: recompute it and compare with its totals")
        parser.add_argument("--kwh", help="energy charged, kWh")
        parser.add_argument("--minutes", help="charging time, minutes")
        parser.add_argument("--start", help="session start, ISO 8601; without an offset it is local time in --tz")
        parser.add_argument("--tz", help="the Location's IANA time zone, e.g. Europe/Berlin")
        parser.add_argument("--power", help="charging power, kW (default: kWh / charging time)")
        parser.add_argument("--current", help="charging current summed over phases, A (for current restrictions)")
        parser.add_argument("--parking-minutes", default="0", help="time connected after charging, minutes")
        parser.add_argument("--tolerance", default=str(DEFAULT_TOLERANCE),
                            help="reconciliation tolerance in currency units (default 0.01)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            output = self._cdr(options) if options["cdr"] else self._session(options)
        except PricingError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False, default=str))

    def _session(self, options: dict[str, Any]) -> dict[str, Any]:
        missing = [f"--{name}" for name in ("tariff", "kwh", "minutes", "start", "tz") if not options[name]]
        if missing:
            raise CommandError(f"either --cdr FILE or all of --tariff --kwh --minutes --start --tz "
                               f"(missing {' '.join(missing)})", returncode=2)
        tariff = parse_tariff(_read_json(options["tariff"], "--tariff"))
        zone_name = options["tz"]
        start = _datetime(options["start"], load_zone(zone_name))
        kwh = _decimal(options["kwh"], "--kwh", positive=False)
        minutes = _decimal(options["minutes"], "--minutes", positive=True)
        parking = _decimal(options["parking_minutes"], "--parking-minutes", positive=False)
        power = None if options["power"] is None else _decimal(options["power"], "--power", positive=True)
        current = None if options["current"] is None else _decimal(options["current"], "--current", positive=False)
        charging_end = start + _minutes(minutes)
        periods = [ChargingPeriod(start=start, state=PeriodState.CHARGING, energy_kwh=kwh, max_power_kw=power,
                                  max_current_a=current)]
        if parking > 0:
            periods.append(ChargingPeriod(start=charging_end, state=PeriodState.PARKING))
        profile = ChargingProfile(time_zone=zone_name, periods=tuple(periods), end=charging_end + _minutes(parking))
        return _breakdown(price_session(tariff, profile).cpo)

    def _cdr(self, options: dict[str, Any]) -> dict[str, Any]:
        cdr = parse_cdr(_read_json(options["cdr"], "--cdr"))
        tariffs = [parse_tariff(_read_json(options["tariff"], "--tariff"))] if options["tariff"] else []
        zone_name = options["tz"] or guess_time_zone(cdr.location_country)
        if zone_name is None:
            raise CommandError(f"--tz is needed: cannot tell the time zone of country {cdr.location_country!r}",
                               returncode=2)
        tolerance = _decimal(options["tolerance"], "--tolerance", positive=False)
        result = reconcile(cdr, time_zone=zone_name, tolerance=tolerance, tariffs=tariffs)
        output = _breakdown(result.ours) if result.ours is not None else {}
        output["reconciliation"] = _reconciliation(result, zone_name)
        return output


def _read_json(path: str, option: str) -> Any:
    try:
        data = load_json(Path(path).read_bytes())
    except OSError as error:
        raise CommandError(f"{option}: cannot read {path}: {error.strerror}", returncode=2) from None
    except PricingInputError as error:
        raise CommandError(f"{option}: {path}: {error.message}", returncode=2) from None
    # Accept a whole OCPI response envelope as saved from a partner's API.
    if isinstance(data, dict) and "data" in data and "status_code" in data:
        data = data["data"]
    return data


def _decimal(text: str, option: str, *, positive: bool) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"{option}: not a number: {text!r}", returncode=2) from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise CommandError(f"{option}: must be {'more than 0' if positive else '0 or more'}, got {text}",
                           returncode=2)
    return value


def _datetime(text: str, zone: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--start: not an ISO 8601 date-time: {text!r}", returncode=2) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _minutes(minutes: Decimal) -> timedelta:
    return timedelta(microseconds=int((minutes * 60_000_000).to_integral_value()))


def _amount(excl: Decimal, incl: Decimal) -> dict[str, Decimal]:
    return {"excl_vat": excl, "incl_vat": incl}


def _breakdown(cost: CostBreakdown) -> dict[str, Any]:
    return {
        "tariff_id": cost.tariff_id,
        "currency": cost.currency,
        "total": _amount(cost.total.excl_vat, cost.total.incl_vat),
        "exact_total": _amount(cost.exact_total.excl_vat, cost.exact_total.incl_vat),
        "uncapped_total": _amount(cost.uncapped_total.excl_vat, cost.uncapped_total.incl_vat),
        "min_price_applied": cost.min_price_applied,
        "max_price_applied": cost.max_price_applied,
        "energy_kwh": cost.energy_kwh,
        "tariff_valid_at_start": cost.tariff_valid_at_start,
        "dimensions": {
            dimension.value: {
                **_amount(part.excl_vat, part.incl_vat),
                "exact_excl_vat": part.exact_excl_vat,
                "exact_incl_vat": part.exact_incl_vat,
                "volume": part.volume,
                "billed_volume": part.billed_volume,
                "vat_rates": list(part.vat_rates),
            }
            for dimension, part in cost.dimensions.items()
        },
        "lines": [
            {
                "dimension": line.cost_dimension.value,
                "component": line.tariff_dimension.value,
                "element_index": line.element_index,
                "price": line.price,
                "vat_rate": line.vat_rate,
                "step_size": line.step_size,
                "start": line.start.isoformat(),
                "end": line.end.isoformat(),
                "volume": line.volume,
                "billed_volume": line.billed_volume,
                "excl_vat": line.excl_vat,
                "incl_vat": line.incl_vat,
            }
            for line in cost.lines
        ],
        "warnings": list(cost.warnings),
    }


def _reconciliation(result: Reconciliation, zone_name: str) -> dict[str, Any]:
    total = result.checks[0]
    return {
        "verdict": result.verdict.value,
        "reasons": list(result.reasons),
        "notes": list(result.notes),
        "time_zone": zone_name,
        "tolerance": result.tolerance,
        "cdr_total_cost": None if total.cdr is None else {"excl_vat": total.cdr.excl_vat,
                                                          "incl_vat": total.cdr.incl_vat},
        "difference": None if total.difference_excl_vat is None else {"excl_vat": total.difference_excl_vat,
                                                                      "incl_vat": total.difference_incl_vat},
        "checks": [
            {
                "field": check.field,
                "cdr": None if check.cdr is None else {"excl_vat": check.cdr.excl_vat, "incl_vat": check.cdr.incl_vat},
                "ours": None if check.ours is None else _amount(check.ours.excl_vat, check.ours.incl_vat),
                "difference": None if check.difference_excl_vat is None else {
                    "excl_vat": check.difference_excl_vat, "incl_vat": check.difference_incl_vat},
                "within_tolerance": check.within_tolerance,
            }
            for check in result.checks
        ],
    }
