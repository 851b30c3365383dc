"""`manage.py ocpi_price`: JSON out, one-line errors with exit code 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.pricing.helpers import D221

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("ocpi_price", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_prices_a_session_from_the_command_line() -> None:
    output = run("--tariff", str(D221 / "tariff_4_complex.json"), "--kwh", "30", "--minutes", "114",
                 "--start", "2019-06-08T13:30", "--tz", "Europe/Berlin", "--current", "43",
                 "--parking-minutes", "71")
    assert output["total"] == {"excl_vat": "12.38", "incl_vat": "13.98"}
    assert output["exact_total"]["excl_vat"] == "12.375"
    assert output["dimensions"]["PARKING_TIME"]["excl_vat"] == "7.50"
    assert output["dimensions"]["FLAT"]["vat_rates"] == ["15.0"]


def test_it_reconciles_a_cdr_and_prints_its_total_and_the_difference() -> None:
    output = run("--cdr", str(D221 / "cdr_example.json"))
    assert output["total"] == {"excl_vat": "4.00", "incl_vat": "4.40"}
    reconciliation = output["reconciliation"]
    assert reconciliation["verdict"] == "MATCH"
    assert reconciliation["time_zone"] == "Europe/Brussels"  # from cdr_location.country BEL
    assert reconciliation["cdr_total_cost"] == {"excl_vat": "4.00", "incl_vat": "4.40"}
    assert reconciliation["difference"] == {"excl_vat": "0.00", "incl_vat": "0.00"}


def test_it_reports_a_missing_tariff_file_with_exit_code_2() -> None:
    with pytest.raises(CommandError) as caught:
        run("--tariff", "/nonexistent.json", "--kwh", "1", "--minutes", "1", "--start", "2019-06-08T13:30",
            "--tz", "Europe/Berlin")
    assert caught.value.returncode == 2
    assert "--tariff" in str(caught.value)


def test_it_names_the_bad_field_of_a_tariff(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "X", "currency": "EUR", "elements": [{"price_components": '
                   '[{"type": "WATTS", "price": 1, "step_size": 1}]}]}')
    with pytest.raises(CommandError, match=r"elements\[0\]\.price_components\[0\]\.type") as caught:
        run("--tariff", str(bad), "--kwh", "1", "--minutes", "1", "--start", "2019-06-08T13:30", "--tz", "UTC")
    assert caught.value.returncode == 2


def test_it_needs_either_a_cdr_or_a_whole_session() -> None:
    with pytest.raises(CommandError, match="missing --tariff") as caught:
        run("--kwh", "1")
    assert caught.value.returncode == 2


def test_it_exits_2_with_one_line_and_no_traceback() -> None:
    process = subprocess.run(
        [sys.executable, "manage.py", "ocpi_price", "--tariff", str(D221 / "tariff_1_simple_2hour.json"),
         "--kwh", "1", "--minutes", "1", "--start", "2019-06-08T13:30", "--tz", "Nowhere/Atlantis"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == ["CommandError: time_zone: unknown IANA time zone 'Nowhere/Atlantis'"]
    assert "Traceback" not in process.stderr
