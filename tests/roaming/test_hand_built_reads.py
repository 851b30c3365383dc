"""The hand-built SELECTs of the hot paths (`roaming.models.columns`) read what the ORM reads."""

from __future__ import annotations

import base64
import threading

import pytest
from django.db import connection, connections

from roaming.models import Partner
from roaming.models.columns import Columns
from tests.roaming.factories import connected_partner

pytestmark = pytest.mark.django_db(transaction=True)


def _orm_values(partner: Partner) -> dict:
    fresh = Partner.objects.get(pk=partner.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Partner._meta.concrete_fields}


def test_authenticate_reads_every_column_as_the_orm_does():
    partner, token = connected_partner("NL", "XYZ")
    partner.record_error("boom")  # a datetime to convert, besides booleans, JSON and text
    found = Partner.authenticate([token])
    assert found is not None
    got = {f.attname: getattr(found, f.attname) for f in Partner._meta.concrete_fields}
    assert got == _orm_values(partner)
    assert found.parties == ["NL*XYZ"] and isinstance(found.inbound_token_is_registration, bool)
    assert found.last_error_at is not None and found.last_error_at.tzinfo is not None


def test_authenticate_takes_the_token_or_its_base64_and_forgets_a_revoked_one_at_once():
    partner, token = connected_partner()
    encoded = base64.b64encode(token.encode()).decode()
    assert Partner.authenticate(["not-it", token]).pk == partner.pk
    assert Partner.authenticate([encoded, token, token]).pk == partner.pk  # the same hash twice is fine
    assert Partner.authenticate(["not-it"]) is None
    assert Partner.authenticate([""]) is None
    partner.revoke_tokens()
    partner.save()
    assert Partner.authenticate([token]) is None


def test_a_reader_used_by_two_threads_converts_with_each_threads_own_connection():
    partner, token = connected_partner()
    reader = Columns(Partner, "p", ["id", "parties", "last_contact_at", "inbound_token_is_registration"])

    def read() -> Partner:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {reader.sql} FROM {Partner._meta.db_table} p WHERE p.id = %s", [partner.pk])  # noqa: S608
            return reader.build(cursor.fetchone())

    here = read()
    results: list[object] = []

    def other_thread() -> None:
        try:
            results.append(read())
        except Exception as error:  # noqa: BLE001 - reported below
            results.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    there = results[0]
    assert isinstance(there, Partner), there
    for found in (here, there):
        assert found.parties == ["DE*ABC"]
        assert found.inbound_token_is_registration is False
    again = read()  # back in this thread: the converters are asked of this thread's connection again
    assert again.parties == ["DE*ABC"]
    assert reader._plan is not None and reader._plan[0] is connections["default"]
    with pytest.raises(ValueError, match="expected 4 values"):
        reader.build([partner.pk])


@pytest.mark.parametrize("moment", ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.123456Z", "1970-01-01T00:00:00Z"])
def test_the_held_versions_a_sync_compares_are_the_datetimes_the_orm_reads(moment):
    """`network._held` reads last_updated with a hand-built SELECT (and on SQLite its own text
    parsing): a version read differently would make an unchanged object look newer or older."""
    from roaming.models import Location
    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.services.network import _held, store_locations
    from tests.ocpi_wire.paths import example

    partner, _ = connected_partner("BE", "BEC")
    wire = WireLocation.model_validate({**example("location_example.json"), "last_updated": moment})
    store_locations(partner=partner, locations=[wire])
    stored = Location.objects.get()
    held = _held(Location, [stored.key])
    assert held.versions == {stored.key: stored.last_updated} and stored.last_updated == wire.last_updated
    assert held.versions[stored.key].tzinfo is not None and held.ids == {stored.key: stored.pk}


def test_a_location_or_tariff_write_inside_a_transaction_takes_no_savepoint():
    """A sync page (and a PUT) is already one transaction. A savepoint inside it made SQLite copy
    every page it wrote to a sub-journal as well: ~100 instead of ~70 ms for 1,000 locations."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.ocpi.v221.tariffs import Tariff as WireTariff
    from roaming.services.network import store_locations, store_tariffs
    from tests.ocpi_wire.paths import example

    partner, _ = connected_partner("BE", "BEC")
    location = WireLocation.model_validate(example("location_example.json"))
    tariff = WireTariff.model_validate({**example("tariff_1_simple_2hour.json"), "country_code": "BE", "party_id": "BEC"})
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert store_locations(partner=partner, locations=[location]).stored == 1
        assert store_tariffs(partner=partner, tariffs=[tariff]).stored == 1
    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert "INSERT" in statements and "SAVEPOINT" not in statements
