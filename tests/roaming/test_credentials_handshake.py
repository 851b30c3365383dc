"""The credentials handshake both ways, end to end against the CPO simulator over real HTTP."""

from __future__ import annotations

import io
import logging

import httpx
import pytest
from django.core.management import CommandError, call_command

from roaming.models import Partner
from roaming.ocpi.auth import new_token
from roaming.services import credentials as service
from roaming.simulator.server import CpoSimulator, SimulatorError, _auth_header

pytestmark = pytest.mark.django_db(transaction=True)


def _versions(url: str, token: str) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": _auth_header(token)}, timeout=5)


# We register with the CPO (ocpi_register) -------------------------------------------------------


def test_it_registers_with_a_cpo_and_stores_its_parties_and_endpoints(emsp, simulator, caplog):
    out = io.StringIO()
    with caplog.at_level(logging.DEBUG):
        call_command("ocpi_register", simulator.versions_url, simulator.token_a, stdout=out)
    partner = Partner.objects.get()
    assert partner.status == Partner.Status.CONNECTED
    assert partner.name == "Simulated CPO"
    assert partner.version == "2.2.1"
    assert [(r.role, r.country_code, r.party_id) for r in partner.roles.all()] == [("CPO", "DE", "SIM")]
    assert partner.endpoint_url("locations", "SENDER") == f"{simulator.base_url}/2.2.1/locations"
    # The simulator adopted our token B and gave us C; both sides now work with the new tokens.
    assert partner.outbound_token and partner.outbound_token != simulator.token_a
    assert _versions(f"{emsp.url}/ocpi/versions", simulator.emsp["token"]).status_code == 200
    assert _versions(simulator.versions_url, partner.outbound_token).status_code == 200
    # Token A is dead at the simulator.
    assert _versions(simulator.versions_url, simulator.token_a or "old").status_code == 401
    assert "Connected to Simulated CPO" in out.getvalue()
    assert simulator.emsp["token"] not in caplog.text and partner.outbound_token not in caplog.text


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"versions": "down"}, "Cannot read the versions endpoint"),
        ({"versions": "html"}, "HTML"),
        ({"versions": "hang", "hang_seconds": "4"}, "timed out"),
        ({"versions": "no221"}, "offers no OCPI 2.2.1 (it offers: 2.1.1)"),
        ({"details": "nocreds"}, "no credentials endpoint"),
        ({"credentials": "500"}, "did not accept our credentials"),
    ],
)
def test_it_refuses_a_partner_it_cannot_use_and_stores_nothing(emsp, simulator, settings, faults, expected):
    settings.OCPI_HTTP_RETRIES = 0
    settings.OCPI_HTTP_TIMEOUT = 0.5
    simulator.faults.update(faults)
    with pytest.raises(CommandError) as error:
        call_command("ocpi_register", simulator.versions_url, simulator.token_a, stdout=io.StringIO())
    assert expected in str(error.value)
    assert Partner.objects.count() == 0


def test_tokens_we_issue_never_start_with_a_dash():
    # 1 in 32 url-safe tokens would start with "-" or "_"; 3,000 draws would surely meet one.
    tokens = {new_token() for _ in range(3000)}
    assert len(tokens) == 3000
    assert all(t[0].isalnum() and 43 <= len(t) <= 64 for t in tokens)


def test_a_token_a_that_starts_with_a_dash_registers_after_double_dash(emsp):
    sim = CpoSimulator(name="Dash CPO", token_a="-dash-first-token").start()
    try:
        out = io.StringIO()
        call_command("ocpi_register", "--", sim.versions_url, "-dash-first-token", stdout=out)
        assert "Connected to Dash CPO" in out.getvalue()
    finally:
        sim.stop()


def test_it_refuses_a_wrong_token_a(emsp, simulator):
    with pytest.raises(CommandError, match="refused our credentials"):
        call_command("ocpi_register", simulator.versions_url, "not-the-token", stdout=io.StringIO())
    assert Partner.objects.count() == 0


def test_a_registration_whose_answer_is_lost_is_not_sent_again_and_says_token_a_may_be_used_up(emsp, simulator):
    # Sent again, the POST was refused with 401 (token A works once) and the message blamed the token.
    simulator.faults["credentials_answer"] = "lost"
    with pytest.raises(service.RegistrationError) as refused:
        service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    assert "may have received our credentials and used up token A" in str(refused.value)
    assert "401" not in str(refused.value)
    assert [path for method, path in simulator.requests if method == "POST"] == ["/ocpi/2.2.1/credentials"]
    assert not Partner.objects.exists()


def test_a_registration_post_that_could_not_connect_is_sent_again(emsp, settings):
    from roaming.ocpi.client import OcpiClient, TransportError

    settings.OCPI_HTTP_RETRIES = 2
    attempts = []

    class Counting(OcpiClient):
        def _send_once(self, *args, **kwargs):
            attempts.append(1)
            return super()._send_once(*args, **kwargs)

    with Counting("token") as client, pytest.raises(TransportError) as error:  # nothing listens on port 9
        client.request("POST", "http://127.0.0.1:9/ocpi/2.2.1/credentials", json_body={}, idempotent=False)
    assert error.value.unsent and len(attempts) == 3


def test_it_rotates_credentials_both_ways_and_kills_the_old_tokens(emsp, simulator):
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    old_outbound, old_inbound = partner.outbound_token, simulator.emsp["token"]
    service.rotate_credentials(partner=partner)
    partner.refresh_from_db()
    assert partner.outbound_token != old_outbound
    assert simulator.emsp["token"] != old_inbound
    assert _versions(f"{emsp.url}/ocpi/versions", old_inbound).status_code == 401
    assert _versions(f"{emsp.url}/ocpi/versions", simulator.emsp["token"]).status_code == 200
    assert _versions(simulator.versions_url, old_outbound).status_code == 401
    assert _versions(simulator.versions_url, partner.outbound_token).status_code == 200


def test_a_rotation_keeps_what_changed_on_the_partner_while_it_waited_for_the_answer(emsp, simulator, monkeypatch):
    import datetime as dt

    from roaming.ocpi.client import OcpiClient

    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    outbound = partner.outbound_token
    asked_to_wait = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    request = OcpiClient.request

    def meanwhile(client, method, url, **options):  # the fault injected: a pull's Retry-After lands during the PUT
        if method == "PUT":
            Partner.objects.filter(pk=partner.pk).update(pull_not_before=asked_to_wait)
        return request(client, method, url, **options)

    monkeypatch.setattr(OcpiClient, "request", meanwhile)
    service.rotate_credentials(partner=partner)
    partner.refresh_from_db()
    assert partner.pull_not_before == asked_to_wait  # the full save had put back the value read before
    assert partner.outbound_token not in ("", outbound) and _versions(simulator.versions_url, partner.outbound_token).status_code == 200


def test_a_partner_that_unregisters_during_a_rotation_stays_unregistered(emsp, simulator, monkeypatch):
    from roaming.ocpi.client import OcpiClient

    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    request = OcpiClient.request

    def meanwhile(client, method, url, **options):  # the fault injected: the partner's DELETE lands during our PUT
        answer = request(client, method, url, **options)
        if method == "PUT":
            service.accept_unregistration(partner=Partner.objects.get(pk=partner.pk))
        return answer

    monkeypatch.setattr(OcpiClient, "request", meanwhile)
    with pytest.raises(service.RegistrationError, match="unregistered while its credentials were being rotated"):
        service.rotate_credentials(partner=partner)
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED and partner.outbound_token == ""


def test_a_failed_rotation_keeps_the_old_tokens_working(emsp, simulator, settings):
    settings.OCPI_HTTP_RETRIES = 0
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    inbound = simulator.emsp["token"]
    simulator.faults["credentials"] = "500"
    with pytest.raises(service.RegistrationError):
        service.rotate_credentials(partner=partner)
    assert _versions(f"{emsp.url}/ocpi/versions", inbound).status_code == 200
    partner.refresh_from_db()
    assert "rotation failed" in partner.last_error


def test_it_unregisters_and_both_sides_forget_the_tokens(emsp, simulator):
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    inbound, outbound = simulator.emsp["token"], partner.outbound_token
    note = service.unregister_from_partner(partner=partner)
    partner.refresh_from_db()
    assert note == "Unregistered."
    assert partner.status == Partner.Status.UNREGISTERED and partner.outbound_token == ""
    assert simulator.emsp == {}
    assert _versions(simulator.versions_url, outbound).status_code == 401
    assert _versions(f"{emsp.url}/ocpi/versions", inbound).status_code == 401


def test_it_re_reads_versions_and_records_the_contact(emsp, simulator):
    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    partner.endpoints.all().delete()
    service.refresh_versions(partner=partner)
    assert partner.endpoints.count() == 3
    assert partner.last_contact_at is not None


# The CPO registers with us (ocpi_issue_token) ----------------------------------------------------


def _issue_token(name: str = "Simulated CPO") -> str:
    out = io.StringIO()
    call_command("ocpi_issue_token", "--name", name, stdout=out)
    line = next(line for line in out.getvalue().splitlines() if "token A:" in line)
    return line.split("token A:")[1].strip()


def test_a_cpo_registers_with_us_using_the_token_we_issued(emsp, simulator):
    token_a = _issue_token()
    assert Partner.objects.get().inbound_token_hash != token_a  # stored hashed
    credentials = simulator.register_with(f"{emsp.url}/ocpi/versions", token_a)
    partner = Partner.objects.get()
    assert partner.status == Partner.Status.CONNECTED
    assert partner.outbound_token  # their token B, which we use to call them
    assert partner.versions_url == simulator.versions_url
    assert partner.endpoint_url("tariffs", "SENDER") == f"{simulator.base_url}/2.2.1/tariffs"
    assert [(r.country_code, r.party_id) for r in partner.roles.all()] == [("DE", "SIM")]
    assert credentials["url"] == f"{emsp.url}/ocpi/versions"
    assert credentials["roles"][0]["role"] == "EMSP"
    # Token A is now dead; token C works.
    assert _versions(f"{emsp.url}/ocpi/versions", token_a).status_code == 401
    assert _versions(f"{emsp.url}/ocpi/versions", credentials["token"]).status_code == 200


def test_token_a_works_only_on_versions_and_credentials(emsp, client):
    token_a = _issue_token()
    assert _versions(f"{emsp.url}/ocpi/versions", token_a).status_code == 200
    assert _versions(f"{emsp.url}/ocpi/2.2.1", token_a).status_code == 200
    response = httpx.get(f"{emsp.url}/ocpi/2.2.1/credentials", headers={"Authorization": _auth_header(token_a)})
    assert response.status_code == 200 and response.json()["data"]["token"] == token_a


def test_a_second_post_when_registered_is_405(emsp, simulator):
    token_a = _issue_token()
    credentials = simulator.register_with(f"{emsp.url}/ocpi/versions", token_a)
    response = httpx.post(
        f"{emsp.url}/ocpi/2.2.1/credentials",
        headers={"Authorization": _auth_header(credentials["token"])},
        json=simulator.credentials_body("another"),
    )
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_or_delete_before_registration_is_405(emsp, simulator, method):
    token_a = _issue_token()
    response = httpx.request(
        method,
        f"{emsp.url}/ocpi/2.2.1/credentials",
        headers={"Authorization": _auth_header(token_a)},
        json=simulator.credentials_body("x-token") if method == "PUT" else None,
    )
    assert response.status_code == 405
    assert Partner.objects.get().status == Partner.Status.PENDING


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://x.test/versions", "roles": []},
        {"token": "has space", "url": "http://x.test/v", "roles": [{"role": "CPO"}]},
        {"token": "t", "url": "not a url", "roles": []},
        {"token": "t" * 65, "url": "http://x.test/v", "roles": []},
        [1, 2, 3],
        {
            "token": "t",
            "url": "http://x.test/v",
            "roles": [{"role": "CPO", "business_details": {"name": "x"}, "party_id": "TOOLONG", "country_code": "DE"}],
        },
    ],
)
def test_a_malformed_credentials_body_is_2001_with_the_field_and_stores_nothing(emsp, body):
    token_a = _issue_token()
    response = httpx.post(f"{emsp.url}/ocpi/2.2.1/credentials", headers={"Authorization": _auth_header(token_a)}, json=body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["status_code"] == 2001
    assert "Invalid credentials object" in payload["status_message"]
    partner = Partner.objects.get()
    assert partner.status == Partner.Status.PENDING and partner.outbound_token == ""
    assert _versions(f"{emsp.url}/ocpi/versions", token_a).status_code == 200


def test_we_answer_3001_when_we_cannot_read_the_partners_versions(emsp, simulator):
    token_a = _issue_token()
    body = simulator.credentials_body("their-token")
    body["url"] = "http://127.0.0.1:9/ocpi/versions"
    response = httpx.post(f"{emsp.url}/ocpi/2.2.1/credentials", headers={"Authorization": _auth_header(token_a)}, json=body)
    assert response.json()["status_code"] == 3001
    assert Partner.objects.get().status == Partner.Status.PENDING
    assert _versions(f"{emsp.url}/ocpi/versions", token_a).status_code == 200


def test_a_cpo_rotates_its_credentials_with_us(emsp, simulator):
    token_a = _issue_token()
    first = simulator.register_with(f"{emsp.url}/ocpi/versions", token_a)
    old_outbound = Partner.objects.get().outbound_token
    second = simulator.rotate_credentials()["token"]
    assert second != first["token"]
    assert _versions(f"{emsp.url}/ocpi/versions", first["token"]).status_code == 401
    assert _versions(f"{emsp.url}/ocpi/versions", second).status_code == 200
    partner = Partner.objects.get()
    assert partner.outbound_token != old_outbound
    assert _versions(simulator.versions_url, partner.outbound_token).status_code == 200
    assert _versions(simulator.versions_url, old_outbound).status_code == 401


def test_a_cpo_unregisters_from_us(emsp, simulator):
    token_a = _issue_token()
    credentials = simulator.register_with(f"{emsp.url}/ocpi/versions", token_a)
    response = httpx.delete(f"{emsp.url}/ocpi/2.2.1/credentials", headers={"Authorization": _auth_header(credentials["token"])})
    assert response.status_code == 200 and "data" not in response.json()
    partner = Partner.objects.get()
    assert partner.status == Partner.Status.UNREGISTERED and not partner.inbound_token_hash
    assert _versions(f"{emsp.url}/ocpi/versions", credentials["token"]).status_code == 401


def test_the_simulator_reports_a_refused_registration(emsp, simulator):
    with pytest.raises(SimulatorError):
        simulator.register_with(f"{emsp.url}/ocpi/versions", "wrong-token")


def test_a_hub_is_one_connection_with_many_parties(emsp):
    from roaming.simulator.server import CpoSimulator

    hub = CpoSimulator(
        name="Roaming Hub",
        country_code="NL",
        party_id="HUB",
        extra_roles=[
            {"role": "CPO", "business_details": {"name": "Fast CPO"}, "party_id": "FST", "country_code": "DE"},
            {"role": "CPO", "business_details": {"name": "Slow CPO"}, "party_id": "slw", "country_code": "be"},
        ],
    ).start()
    try:
        partner = service.register_with_partner(versions_url=hub.versions_url, token_a=hub.token_a)
    finally:
        hub.stop()
    assert Partner.objects.count() == 1
    assert sorted((r.country_code, r.party_id) for r in partner.roles.all()) == [("BE", "SLW"), ("DE", "FST"), ("NL", "HUB")]
    assert partner.may_act_for("de", "fst") and partner.may_act_for("BE", "SLW")
    assert not partner.may_act_for("FR", "XYZ")


def test_staff_re_read_versions_and_rotate_credentials_from_the_admin(emsp, simulator, client):
    from django.contrib.auth import get_user_model

    partner = service.register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)
    old_outbound = partner.outbound_token
    staff = get_user_model().objects.create_user("s", "s@example.com", "pw-123456789", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.post("/admin/roaming/partner/", {"action": "reread_versions", "_selected_action": [partner.pk]}, follow=True)
    assert "3 endpoints read." in page.content.decode()
    page = client.post("/admin/roaming/partner/", {"action": "rotate_credentials", "_selected_action": [partner.pk]}, follow=True)
    assert "credentials rotated." in page.content.decode()
    partner.refresh_from_db()
    assert partner.outbound_token != old_outbound
    simulator.faults["versions"] = "html"
    page = client.post("/admin/roaming/partner/", {"action": "reread_versions", "_selected_action": [partner.pk]}, follow=True)
    assert "HTML" in page.content.decode()
