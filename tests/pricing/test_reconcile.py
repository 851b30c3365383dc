"""Reconciling received CDRs against our own calculation (TC-30 and variations)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from roaming.pricing.parse import parse_cdr
from roaming.pricing.reconcile import Verdict, guess_time_zone, profile_from_cdr, reconcile
from roaming.pricing.types import CostDimension, PeriodState
from tests.pricing.helpers import example_json

D = Decimal
BRUSSELS = "Europe/Brussels"


def cdr_example() -> dict[str, Any]:
    return copy.deepcopy(example_json("cdr_example.json"))


def test_it_matches_the_spec_cdr_example_tc30() -> None:
    result = reconcile(parse_cdr(cdr_example()), time_zone=BRUSSELS)
    assert result.verdict is Verdict.MATCH
    assert result.ours is not None
    assert (result.ours.total.excl_vat, result.ours.total.incl_vat) == (D("4.00"), D("4.40"))
    time_check = next(check for check in result.checks if check.field == "total_time_cost")
    assert time_check.within_tolerance is True
    assert time_check.difference_excl_vat == 0
    # The example has total_energy but no ENERGY in its periods; TIME-only tariff, so it cannot matter.
    assert any("total_energy" in note for note in result.notes)


def test_it_reports_a_mismatch_with_the_difference() -> None:
    data = cdr_example()
    data["total_cost"] = {"excl_vat": 4.50, "incl_vat": 4.95}
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.MISMATCH
    total = result.checks[0]
    assert (total.field, total.difference_excl_vat, total.difference_incl_vat) == ("total_cost", D("0.50"), D("0.55"))
    assert "total_cost" in result.reasons[0]


def test_it_accepts_differences_within_a_configurable_tolerance() -> None:
    data = cdr_example()
    data["total_cost"] = {"excl_vat": "4.03", "incl_vat": "4.43"}
    data["total_time_cost"] = {"excl_vat": "4.03", "incl_vat": "4.43"}
    assert reconcile(parse_cdr(data), time_zone=BRUSSELS).verdict is Verdict.MISMATCH
    assert reconcile(parse_cdr(data), time_zone=BRUSSELS, tolerance=D("0.05")).verdict is Verdict.MATCH


def test_it_compares_a_credit_cdrs_negative_totals_with_our_cost_negated() -> None:
    data = cdr_example()
    data.update(id="12345-C", credit=True, credit_reference_id="12345",
                total_cost={"excl_vat": -4.00, "incl_vat": -4.40})
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.MATCH
    assert result.checks[0].ours is not None and result.checks[0].ours.excl_vat == D("-4.00")


def test_it_cannot_verify_without_a_tariff() -> None:
    data = cdr_example()
    data["tariffs"] = []
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.CANNOT_VERIFY
    assert "tariff" in result.reasons[0]
    assert result.checks[0].cdr is not None and result.checks[0].ours is None


def test_it_uses_a_tariff_supplied_by_the_caller_when_the_cdr_embeds_none() -> None:
    data = cdr_example()
    tariffs = data.pop("tariffs")
    from roaming.pricing.parse import parse_tariff

    result = reconcile(parse_cdr(data), time_zone=BRUSSELS, tariffs=[parse_tariff(tariffs[0])])
    assert result.verdict is Verdict.MATCH


def test_it_cannot_verify_a_period_naming_an_unknown_tariff() -> None:
    data = cdr_example()
    data["charging_periods"][0]["tariff_id"] = "99"
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.CANNOT_VERIFY
    assert "'99'" in result.reasons[0]


def test_it_cannot_verify_a_mid_session_tariff_switch() -> None:
    data = cdr_example()
    second = copy.deepcopy(data["tariffs"][0])
    second["id"] = "13"
    data["tariffs"].append(second)
    data["charging_periods"].append({"start_date_time": "2015-06-29T22:39:09Z", "tariff_id": "13",
                                     "dimensions": [{"type": "TIME", "volume": 0.973}]})
    data["charging_periods"][0]["dimensions"][0]["volume"] = 1.0
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.CANNOT_VERIFY
    assert "2 tariffs" in result.reasons[0]


def test_it_cannot_verify_a_currency_mismatch() -> None:
    data = cdr_example()
    data["currency"] = "GBP"
    assert reconcile(parse_cdr(data), time_zone=BRUSSELS).verdict is Verdict.CANNOT_VERIFY


def test_it_cannot_verify_periods_out_of_order_and_names_the_cdr_field() -> None:
    data = cdr_example()
    data["charging_periods"].append({"start_date_time": "2015-06-29T20:00:00Z",
                                     "dimensions": [{"type": "TIME", "volume": 0.5}]})
    result = reconcile(parse_cdr(data), time_zone=BRUSSELS)
    assert result.verdict is Verdict.CANNOT_VERIFY
    assert "charging_periods[1].start_date_time" in result.reasons[0]


def _complex_cdr() -> dict[str, Any]:
    # TC-13 as a CPO would send it: Monday 09:30 local, 165 min at 16 A, then 42 min parked.
    tariff = example_json("tariff_4_complex.json")
    return {
        "country_code": "DE", "party_id": "ALL", "id": "CDR-13", "currency": "EUR",
        "start_date_time": "2019-06-03T07:30:00Z", "end_date_time": "2019-06-03T10:57:00Z",
        "tariffs": [tariff],
        "charging_periods": [
            {"start_date_time": "2019-06-03T07:30:00Z", "tariff_id": "14",
             "dimensions": [{"type": "ENERGY", "volume": 11}, {"type": "MAX_CURRENT", "volume": 16},
                            {"type": "TIME", "volume": 2.75}]},
            {"start_date_time": "2019-06-03T10:15:00Z", "tariff_id": "14",
             "dimensions": [{"type": "PARKING_TIME", "volume": 0.7}]},
        ],
        "total_cost": {"excl_vat": 9.00, "incl_vat": 10.30},
        "total_fixed_cost": {"excl_vat": 2.50, "incl_vat": 2.88},
        "total_energy": 11, "total_time": 3.45,
        "total_time_cost": {"excl_vat": 2.75, "incl_vat": 3.30},
        "total_parking_time": 0.7,
        "total_parking_cost": {"excl_vat": 3.75, "incl_vat": 4.13},
        "last_updated": "2019-06-03T11:00:00Z",
    }


def test_it_matches_every_dimension_of_a_multi_period_cdr() -> None:
    result = reconcile(parse_cdr(_complex_cdr()), time_zone="Europe/Berlin")
    assert result.verdict is Verdict.MATCH, result.reasons
    compared = {check.field for check in result.checks if check.within_tolerance is not None}
    assert compared == {"total_cost", "total_fixed_cost", "total_time_cost", "total_parking_cost"}


def test_it_splits_a_period_carrying_both_charging_and_parking_time() -> None:
    data = _complex_cdr()
    data["charging_periods"] = [{"start_date_time": "2019-06-03T07:30:00Z", "tariff_id": "14",
                                 "dimensions": [{"type": "ENERGY", "volume": 11},
                                                {"type": "MAX_CURRENT", "volume": 16},
                                                {"type": "TIME", "volume": 2.75},
                                                {"type": "PARKING_TIME", "volume": 0.7}]}]
    cdr = parse_cdr(data)
    profile = profile_from_cdr(cdr, time_zone="Europe/Berlin")
    assert [period.state for period in profile.periods] == [PeriodState.CHARGING, PeriodState.PARKING]
    assert profile.periods[1].energy_kwh == 0
    assert reconcile(cdr, time_zone="Europe/Berlin").verdict is Verdict.MATCH


def test_it_cannot_verify_a_difference_when_current_data_was_missing() -> None:
    data = _complex_cdr()
    data["charging_periods"][0]["dimensions"] = [{"type": "ENERGY", "volume": 11}, {"type": "TIME", "volume": 2.75}]
    result = reconcile(parse_cdr(data), time_zone="Europe/Berlin")
    assert result.verdict is Verdict.CANNOT_VERIFY
    assert any("no current" in reason for reason in result.reasons)


def test_it_reconciles_an_expired_reservation_cdr() -> None:
    tariff = example_json("tariff_17_reservation_with_expire_fee.json")
    data = {
        "id": "R-1", "currency": "EUR", "start_date_time": "2019-06-04T08:00:00Z",
        "end_date_time": "2019-06-04T09:00:00Z", "tariffs": [tariff],
        "charging_periods": [{"start_date_time": "2019-06-04T08:00:00Z",
                              "dimensions": [{"type": "RESERVATION_TIME", "volume": 1}]}],
        "total_cost": {"excl_vat": 6.00, "incl_vat": 7.20},
        "total_reservation_cost": {"excl_vat": 6.00, "incl_vat": 7.20},
        "total_energy": 0, "total_time": 0,
    }
    result = reconcile(parse_cdr(data), time_zone="Europe/Berlin")
    assert result.verdict is Verdict.MATCH, result.reasons
    assert result.ours is not None and result.ours.dimensions[CostDimension.RESERVATION].excl_vat == D("6.00")


@pytest.mark.parametrize(("country", "zone"), [("BEL", "Europe/Brussels"), ("DEU", "Europe/Berlin"),
                                              ("USA", None)])
def test_it_guesses_the_time_zone_only_for_single_zone_countries(country: str, zone: str | None) -> None:
    assert guess_time_zone(country) == zone
