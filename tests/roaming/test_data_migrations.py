"""Data migrations, run backwards and forwards over rows the current code wrote."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from roaming.models import EVSE, Location
from roaming.ocpi.v221 import locations as wire
from roaming.services import push
from tests.ocpi_wire.paths import example

from .factories import connected_partner

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate_back_to(target: str) -> None:
    MigrationExecutor(connection).migrate([("roaming", target)])


def _migrate_to_the_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the tests after this one need every migration


@pytest.fixture(autouse=True)
def _schema_left_as_found():
    yield
    _migrate_to_the_latest()


def test_locations_stored_before_chip_card_terminals_counted_take_ad_hoc_payment_after_migrating():
    partner, _ = connected_partner("BE", "BEC")
    body = example("location_example.json")
    for evse in body["evses"]:
        evse["capabilities"] = ["RESERVABLE"]
    body["evses"][1]["capabilities"] = ["CHIP_CARD_SUPPORT"]
    push.put_location(partner=partner, location=wire.Location.model_validate(body))
    removed = dict(body, id="LOC2")
    removed["evses"] = [dict(body["evses"][1], status="REMOVED")]  # a terminal no longer there counts for nothing
    removed["evses"][0]["status"] = "REMOVED"
    push.put_location(partner=partner, location=wire.Location.model_validate(removed))
    assert Location.objects.get(ocpi_id="LOC1").ad_hoc_payment_capable  # counted as it arrives now
    Location.objects.update(ad_hoc_payment_capable=False)  # as the code before stored it

    _migrate_back_to("0012_objects_no_longer_listed")
    _migrate_to_the_latest()  # 0013 sets them right

    assert dict(Location.objects.values_list("ocpi_id", "ad_hoc_payment_capable")) == {"LOC1": True, "LOC2": False}
    assert EVSE.objects.filter(capabilities__icontains="CHIP_CARD_SUPPORT").count() == 2


def test_tariffs_deleted_before_withdrawals_were_recorded_are_withdrawn_from_their_deletion():
    import datetime as dt

    from roaming.models import Tariff, TariffWithdrawal
    from roaming.ocpi.v221.tariffs import Tariff as WireTariff

    partner, _ = connected_partner("DE", "ALL")
    push.put_tariff(partner=partner, tariff=WireTariff.model_validate(example("tariff_1_simple_2hour.json")))
    deleted_at = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    Tariff.objects.update(deleted_at=deleted_at)  # as the code before stored a DELETE
    TariffWithdrawal.objects.all().delete()

    _migrate_back_to("0016_tariff_withdrawals")
    _migrate_to_the_latest()  # 0017 records them

    tariff = Tariff.objects.get()
    assert list(tariff.withdrawals.values_list("withdrawn_at", "restored_at")) == [(deleted_at, None)]
    assert tariff.version_at(deleted_at + dt.timedelta(days=1)) is None
    assert tariff.version_at(deleted_at - dt.timedelta(days=1)) is not None



def test_repair_records_kept_before_they_had_a_party_get_it_and_going_back_keeps_the_latest_per_id():
    from roaming.models import RepairedObject
    from roaming.services import network

    partner, _ = connected_partner("DE", "SIM")
    sent = {"country_code": "de", "party_id": "SIM", "id": "LOC1"}
    network.record_repairs(partner=partner, module="locations", repairs=[("LOC1", ["first"], sent), ("", ["page"], None)])
    network.record_repairs(partner=partner, module="locations", repairs=[("LOC1", ["other CPO"], {**sent, "party_id": "XYZ"})])
    assert sorted(RepairedObject.objects.values_list("party", "object_id")) == [("", ""), ("DE*SIM", "LOC1"), ("DE*XYZ", "LOC1")]

    _migrate_back_to("0017_withdrawals_of_deleted_tariffs")  # one record per id: the latest stays
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT object_id, repairs FROM roaming_repairedobject ORDER BY object_id")
        kept = [(object_id, json.loads(repairs) if isinstance(repairs, str) else repairs) for object_id, repairs in cursor.fetchall()]
        assert kept == [("", ["page"]), ("LOC1", ["other CPO"])]
        cursor.execute("UPDATE roaming_repairedobject SET repairs = '[\"before\"]' WHERE object_id = 'LOC1'")
    _migrate_to_the_latest()  # 0018 reads the party from the object as sent

    assert sorted(RepairedObject.objects.values_list("party", "object_id", "repairs")) == [("", "", ["page"]), ("DE*XYZ", "LOC1", ["before"])]
