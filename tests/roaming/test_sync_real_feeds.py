"""Real operators' feeds, served as a CPO would serve them, pulled through the whole sync path."""

from __future__ import annotations

from pathlib import Path

import pytest

from roaming.models import EVSE, Location, QuarantinedObject, RepairedObject, SyncRun
from roaming.ocpi.v221.feeds import decode_page
from roaming.services import sync
from roaming.services.credentials import register_with_partner

pytestmark = pytest.mark.django_db(transaction=True)

FEEDS = sorted((Path(__file__).resolve().parents[3] / "shared" / "real-feeds").glob("*.json"))


@pytest.fixture
def connected(emsp, simulator):
    partner = register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    return partner, simulator


def test_the_feeds_are_there():
    assert len(FEEDS) == 10


@pytest.mark.parametrize("feed", FEEDS, ids=[f.stem for f in FEEDS])
def test_it_stores_every_location_it_can_understand_and_quarantines_the_rest_with_the_reason(connected, feed):
    partner, simulator = connected
    raw = feed.read_bytes()
    decoded = decode_page(raw, kind="locations")
    parties = {(d.obj.country_code.upper(), d.obj.party_id.upper()) for d in decoded.decoded}
    # The feed's operators are this CPO's parties (as they would be in its credentials roles).
    partner.replace_roles(
        [{"role": "CPO", "country_code": c, "party_id": p, "business_name": "feed"} for c, p in sorted(parties)]
    )
    simulator.raw_pages["locations"] = raw

    run = sync.sync_module(partner=partner, module="locations", full=True)

    expected_keys = {Location.make_key(d.obj.country_code, d.obj.party_id, d.obj.id) for d in decoded.decoded}
    assert run.state == SyncRun.State.SUCCEEDED
    assert set(Location.objects.values_list("key", flat=True)) == expected_keys
    assert run.objects_stored == len(decoded.decoded)
    assert run.rejected == len(decoded.rejects)
    quarantined = list(QuarantinedObject.objects.filter(sync_run=run).values_list("reason", flat=True))
    assert sorted(quarantined) == sorted(r.reason for r in decoded.rejects)
    assert all(":" in reason for reason in quarantined), "every reason names the field path"
    # Every repair is kept for staff, with the object as the CPO sent it.
    repaired = [d for d in decoded.decoded if d.warnings]
    assert run.repaired == len(repaired)
    kept = {r.object_id: r for r in RepairedObject.objects.filter(sync_run=run).exclude(object_id="")}
    assert {d.obj.id for d in repaired} == set(kept)
    for d in repaired[:50]:
        assert kept[d.obj.id].repairs == list(d.warnings)
        assert kept[d.obj.id].raw == d.original
    page = RepairedObject.objects.filter(sync_run=run, object_id="").first()
    assert (page.repairs if page else []) == list(decoded.page_warnings)
    assert EVSE.objects.count() == sum(len(d.obj.evses or []) for d in decoded.decoded)
    # Summaries agree with the stored EVSEs.
    for location in Location.objects.all()[:50]:
        active = location.evses.exclude(status=EVSE.Status.REMOVED)
        assert location.evse_count == active.count()
        assert location.available_evse_count == active.filter(status=EVSE.Status.AVAILABLE).count()
        assert location.is_visible == (location.publish and active.exists())


def test_repairs_are_kept_once_per_object_the_latest_replacing_the_one_before(connected):
    """A nightly full pull re-sends every object: one record per object, not one per pull."""
    partner, simulator = connected
    feed = next(f for f in FEEDS if f.stem == "ocpi_2_2_1_locations-sitronics")
    raw = feed.read_bytes()
    parties = {(d.obj.country_code.upper(), d.obj.party_id.upper()) for d in decode_page(raw, kind="locations").decoded}
    partner.replace_roles([{"role": "CPO", "country_code": c, "party_id": p, "business_name": "feed"} for c, p in sorted(parties)])
    simulator.raw_pages["locations"] = raw
    first = sync.sync_module(partner=partner, module="locations", full=True)
    count = RepairedObject.objects.count()
    assert count == first.repaired + 1  # and the page's own oddity
    second = sync.sync_module(partner=partner, module="locations", full=True)
    assert second.repaired == first.repaired
    assert RepairedObject.objects.count() == count
    assert set(RepairedObject.objects.values_list("sync_run", flat=True)) == {second.pk}
