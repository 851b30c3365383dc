"""Staff see partners and their health; nobody else does."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from roaming.models import EVSE, Partner, QuarantinedObject, Tariff

from .factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw-123456789", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_staff_see_partners_with_status_parties_and_last_error(staff_client):
    healthy = PartnerFactory(name="Healthy CPO", role=("NL", "ABC"))
    healthy.last_contact_at = timezone.now()
    healthy.save()
    failing = PartnerFactory(name="Failing CPO", role=("DE", "XYZ"))
    failing.record_error("GET http://x/versions: timed out")
    response = staff_client.get("/admin/roaming/partner/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Healthy CPO" in html and "NL*ABC CPO" in html
    assert "Connected, last call failed" in html and "timed out" in html


def test_the_partner_page_never_shows_a_token(staff_client):
    partner = PartnerFactory(name="Secret CPO")
    partner.outbound_token = "super-secret-outbound-token"
    inbound = partner.issue_inbound_token()
    partner.save()
    html = staff_client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "Secret CPO" in html
    assert "super-secret-outbound-token" not in html and inbound not in html
    assert "held (hidden)" in html


def test_non_staff_cannot_see_partners(client):
    user = get_user_model().objects.create_user("driver", "d@example.com", "pw-123456789")
    client.force_login(user)
    response = client.get("/admin/roaming/partner/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_unregister_action_ends_the_connection(staff_client):
    partner = PartnerFactory(name="Leaving CPO")
    partner.issue_inbound_token()
    partner.save()
    response = staff_client.post(
        "/admin/roaming/partner/", {"action": "unregister", "_selected_action": [partner.pk]}, follow=True
    )
    assert response.status_code == 200
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED and partner.inbound_token_hash is None


def test_contact_is_written_at_most_once_a_minute_unless_the_partner_recovers_from_an_error(django_assert_num_queries):
    partner = PartnerFactory()
    partner.record_contact()
    with django_assert_num_queries(0):
        partner.record_contact()
    partner.record_error("timed out")
    with django_assert_num_queries(1):
        partner.record_contact()
    assert partner.last_contact_at > partner.last_error_at


def test_staff_see_what_was_repaired_in_a_partners_objects_and_drivers_do_not(staff_client, client):
    from roaming.models import RepairedObject

    partner = PartnerFactory(name="Sloppy CPO")
    repaired = RepairedObject.objects.create(
        partner=partner,
        module="locations",
        object_id="LOC-7",
        repairs=["time_zone: 'europe/brussels' read as 'Europe/Brussels'"],
        raw={"id": "LOC-7", "time_zone": "europe/brussels"},
    )
    html = staff_client.get("/admin/roaming/repairedobject/").content.decode()
    assert "LOC-7" in html and "read as &#x27;Europe/Brussels&#x27;" in html and "Sloppy CPO" in html
    detail = staff_client.get(f"/admin/roaming/repairedobject/{repaired.pk}/change/").content.decode()
    assert "europe/brussels" in detail  # the object as sent

    driver = get_user_model().objects.create_user("driver", "d@example.com", "pw-123456789")
    client.force_login(driver)
    response = client.get("/admin/roaming/repairedobject/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _spec_location_and_tariffs(partner, tariff_ids, *, deleted=()):
    """The spec's example location (its connectors name tariffs 11, 13 and 12) and tariffs of these ids."""
    import copy

    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.ocpi.v221.tariffs import Tariff as WireTariff
    from roaming.services import network
    from tests.ocpi_wire.paths import example

    network.store_locations(partner=partner, locations=[WireLocation.model_validate(example("location_example.json"))])
    tariffs = []
    for tariff_id in tariff_ids:
        body = copy.deepcopy(example("tariff_1_simple_2hour.json"))
        body.update(country_code="BE", party_id="BEC", id=tariff_id)
        tariffs.append(WireTariff.model_validate(body))
    network.store_tariffs(partner=partner, tariffs=tariffs)
    for tariff in Tariff.objects.filter(ocpi_id__in=deleted):
        network.delete_tariff(tariff=tariff)


def test_staff_see_which_tariffs_a_partners_chargers_name_that_we_lack(staff_client):
    from roaming import selectors

    partner = PartnerFactory(name="Gent CPO", role=("BE", "BEC"))
    _spec_location_and_tariffs(partner, ["11", "12"], deleted=["12"])  # 13 never came, 12 was deleted

    missing = selectors.missing_tariffs(partner.pk)
    assert (missing.tariffs, missing.connectors) == (2, 2)
    assert missing.most_used == [("BE*BEC*12", 1), ("BE*BEC*13", 1)]
    html = staff_client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "2 tariff(s), named by 2 connectors, which show drivers no price: BE*BEC*12 (1), BE*BEC*13 (1)" in html


def test_a_partner_whose_tariffs_we_all_hold_shows_none_missing_and_removed_evses_do_not_count(staff_client):
    from roaming import selectors

    partner = PartnerFactory(name="Gent CPO", role=("BE", "BEC"))
    _spec_location_and_tariffs(partner, ["11", "13"])  # 12 is named only by the second EVSE
    assert selectors.missing_tariffs(partner.pk).most_used == [("BE*BEC*12", 1)]
    EVSE.objects.filter(uid="3257").update(status=EVSE.Status.REMOVED)

    assert selectors.missing_tariffs(partner.pk).tariffs == 0
    html = staff_client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "None: we hold every tariff its chargers name." in html


def test_staff_see_how_far_a_running_pull_is_and_when_it_stalled(staff_client, time_machine):
    from roaming.models import SyncRun
    from roaming.services.sync import STALE_AFTER

    partner = PartnerFactory(name="Gent CPO", role=("BE", "BEC"))
    now = timezone.now()
    time_machine.move_to(now, tick=False)  # the page computes "running for …" from the same clock
    SyncRun.objects.create(
        partner=partner, module="locations", mode="FULL", started_at=now - timezone.timedelta(seconds=40), heartbeat_at=now,
        pages=12, objects_stored=11_900, rejected=100, total_reported=50_000,
    )
    SyncRun.objects.create(
        partner=partner, module="tariffs", mode="INCREMENTAL", started_at=now - timezone.timedelta(hours=1),
        heartbeat_at=now - STALE_AFTER - timezone.timedelta(minutes=5), objects_stored=300,
    )
    SyncRun.objects.create(
        partner=partner, module="locations", mode="INCREMENTAL", state="SUCCEEDED", started_at=now - timezone.timedelta(days=1),
        finished_at=now - timezone.timedelta(days=1) + timezone.timedelta(seconds=9.3),
    )

    html = staff_client.get("/admin/roaming/syncrun/").content.decode()

    assert "running for 40 s: 12,000 of 50,000 objects (24%)" in html
    assert "stalled: no page for 15 min; the next pull resumes it (300 objects)" in html
    assert "9.3 s" in html


def test_a_partner_that_only_pushes_is_said_to_publish_nothing_to_pull(staff_client):
    partner = PartnerFactory(name="Push-only CPO", role=("BE", "BEC"))
    _spec_location_and_tariffs(partner, ["11", "12", "13"])

    html = staff_client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()

    assert "Locations: it publishes none to pull (pushes only)." in html
    assert "Tariffs: it publishes none to pull (pushes only)." in html
    assert ">1 location</a> (1 shown to drivers)" in html and ">2 EVSEs</a> (1 available now)" in html


def test_staff_read_evse_and_location_times_in_the_chargers_own_zone(staff_client):
    partner = PartnerFactory(name="Gent CPO", role=("BE", "BEC"))
    _spec_location_and_tariffs(partner, [])  # in Europe/Brussels, last changes in UTC on the wire

    evses = staff_client.get("/admin/roaming/evse/").content.decode()
    locations = staff_client.get("/admin/roaming/location/").content.decode()

    assert "28 Jun 2015, 10:12 CEST (08:12 UTC)" in evses  # EVSE 3256
    evse = EVSE.objects.get(uid="3256")
    assert "28 Jun 2015, 10:12 CEST (08:12 UTC)" in staff_client.get(f"/admin/roaming/evse/{evse.pk}/change/").content.decode()
    assert "29 Jun 2015, 22:39 CEST (20:39 UTC)" in evses and "29 Jun 2015, 22:39 CEST (20:39 UTC)" in locations


# Staff rights ------------------------------------------------------------------------------------


def _staff_with(django_user_model, name: str, *codenames: str):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123456789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="roaming", codename__in=codenames))
    return user


@pytest.mark.parametrize("action", ["unregister", "rotate_credentials", "reread_versions", "pull_now", "full_pull_now"])
def test_staff_who_may_only_view_partners_can_neither_see_nor_run_an_action_that_operates_one(client, django_user_model, action):
    partner = PartnerFactory(name="Their CPO", status=Partner.Status.CONNECTED)
    partner.issue_inbound_token()
    partner.save()
    client.force_login(_staff_with(django_user_model, "viewer", "view_partner"))

    token_hash = partner.inbound_token_hash

    assert f'value="{action}"' not in client.get("/admin/roaming/partner/").content.decode()
    page = client.post("/admin/roaming/partner/", {"action": action, "_selected_action": [partner.pk]}, follow=True).content.decode()

    # What each action says when it ran (it had unregistered the partner and revoked its token).
    assert not any(said in page for said in ("is queued", "credentials rotated", "endpoints read", "unregistered", "Their CPO:"))
    partner.refresh_from_db()
    assert (partner.status, partner.inbound_token_hash) == (Partner.Status.CONNECTED, token_hash)


def test_only_staff_given_the_right_may_clear_the_quarantine(client, django_user_model):
    partner = PartnerFactory(name="Their CPO")
    refused = QuarantinedObject.objects.create(partner=partner, module="locations", object_id="X1", reason="bad", raw={})
    delete = f"/admin/roaming/quarantinedobject/{refused.pk}/delete/"

    client.force_login(_staff_with(django_user_model, "anyone"))  # staff, no rights
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.force_login(_staff_with(django_user_model, "reader", "view_quarantinedobject"))
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert QuarantinedObject.objects.filter(pk=refused.pk).exists()

    client.force_login(_staff_with(django_user_model, "clearer", "view_quarantinedobject", "delete_quarantinedobject"))
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not QuarantinedObject.objects.exists()
