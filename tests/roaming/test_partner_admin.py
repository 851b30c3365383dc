"""Staff see partners and their health; nobody else does."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from roaming.models import Partner

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
