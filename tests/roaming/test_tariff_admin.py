"""Staff see each tariff in plain words and a worked example, CPO price next to driver price."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from payments.models import PriceRuleSet
from roaming import selectors
from roaming.models import Tariff
from roaming.ocpi.v221.tariffs import Tariff as WireTariff
from roaming.services.network import store_tariffs

from .factories import PartnerFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ocpi-examples" / "2.2.1-d2" / "examples"


@pytest.fixture
def tariff() -> Tariff:
    partner = PartnerFactory(role=("DE", "ENE"))
    wire = WireTariff.model_validate(json.loads((EXAMPLES / "tariff_9_025kwh_start.json").read_text()))
    store_tariffs(partner=partner, tariffs=[wire])
    return Tariff.objects.get()


def test_the_worked_example_gives_the_cpo_and_the_driver_price(tariff):
    rules = PriceRuleSet.objects.create(name="Standard", is_default=True, per_kwh=Decimal("0.05"), per_session=Decimal("0.30"),
                                        vat_rate=Decimal("19"))
    example = selectors.tariff_worked_example(tariff, rules=rules.as_rules(), start=dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC))
    # tariff_9: FLAT 0.50 (20% VAT) + 0.25/kWh (10% VAT); 30 kWh → 8.00 excl, 0.60 + 8.25 = 8.85 incl.
    assert (example.cpo_excl, example.cpo_incl) == ("€8.00", "€8.85")
    # Our rules: + 30 × 0.05 + 0.30 = 9.80 excl; our 19 % VAT on all of it → 11.66.
    assert (example.driver_excl, example.driver_incl) == ("€9.80", "€11.66")
    assert "30 kWh at 50 kW" in example.summary


def test_staff_see_plain_words_and_the_example_on_the_tariff_page(client, tariff):
    PriceRuleSet.objects.create(name="Standard", is_default=True, percent=Decimal("10"))
    staff = get_user_model().objects.create_user("s", "s@example.com", "pw-123456789", is_staff=True, is_superuser=True)
    client.force_login(staff)
    html = client.get(f"/admin/roaming/tariff/{tariff.pk}/change/").content.decode()
    assert "€0.60 per session + €0.275/kWh (incl. VAT)" in html
    assert "CPO price (our cost)" in html and "Driver price (Standard)" in html


def test_staff_see_when_a_tariff_did_not_apply(client, tariff):
    from roaming.services.network import delete_tariff

    delete_tariff(tariff=tariff, now=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC))
    staff = get_user_model().objects.create_user("s", "s@example.com", "pw-123456789", is_staff=True, is_superuser=True)
    client.force_login(staff)
    html = client.get(f"/admin/roaming/tariff/{tariff.pk}/change/").content.decode()
    assert "Periods it did not apply (deleted, or not in the CPO" in html and "March 1, 2026, 10 a.m." in html


def test_a_tariff_the_engine_cannot_price_says_why(tariff):
    tariff.raw = {**tariff.raw, "elements": []}
    assert selectors.tariff_in_words(tariff).startswith("Cannot be priced: elements")


def test_only_one_rule_set_is_the_default():
    first = PriceRuleSet.objects.create(name="A", is_default=True)
    PriceRuleSet.objects.create(name="B", is_default=True)
    first.refresh_from_db()
    assert not first.is_default
    assert PriceRuleSet.default_rules().name == "B"
