"""The OCPI transport: envelope, authorization, ids, routing headers, body limits, outbound client."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import logging
import time
from urllib.parse import urlsplit

import pytest

from roaming.ocpi.auth import encode_token, token_candidates
from roaming.ocpi.client import OcpiClient, TransportError, iterate_pages
from roaming.ocpi.logging import redact
from roaming.tasks import retry_countdown

from .factories import connected_partner
from .ocpi_http import call

pytestmark = pytest.mark.django_db


def test_it_encodes_tokens_in_base64_without_a_trailing_newline():
    assert encode_token("example-token") == "Token ZXhhbXBsZS10b2tlbg=="
    assert encode_token("example-token", base64_encode=False) == "Token example-token"


def test_it_reads_both_the_base64_and_the_raw_token_and_the_spec_example_with_a_newline():
    assert token_candidates("Token ZXhhbXBsZS10b2tlbg==")[0] == "example-token"
    assert token_candidates("Token ZXhhbXBsZS10b2tlbgo=")[0] == "example-token"
    assert token_candidates("token raw-token-value") == ["raw-token-value"]
    assert token_candidates("Bearer abc") == []
    assert token_candidates(None) == []
    assert token_candidates("Token ") == []


def test_it_answers_the_versions_endpoint_in_the_envelope(client):
    _, token = connected_partner()
    response = call(client, "GET", "/ocpi/versions", token)
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert body["timestamp"].endswith("Z") and "+00:00" not in body["timestamp"]
    assert body["data"] == [{"version": "2.2.1", "url": "http://127.0.0.1:8000/ocpi/2.2.1"}]


@pytest.mark.parametrize(
    "header",
    [None, "", "Token", "Bearer abc", "Token not-a-known-token", "Token " + base64.b64encode(b"unknown").decode()],
)
def test_it_refuses_missing_malformed_or_unknown_authorization_with_401(client, header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/ocpi/versions", **extra)
    assert response.status_code == 401
    assert response.json()["status_code"] == 2000
    assert "data" not in response.json()


def test_it_accepts_a_raw_token_from_peers_that_do_not_encode(client):
    _, token = connected_partner()
    response = client.get("/ocpi/versions", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


def test_it_refuses_a_suspended_partners_token(client):
    partner, token = connected_partner()
    partner.status = partner.Status.SUSPENDED
    partner.save()
    assert call(client, "GET", "/ocpi/versions", token).status_code == 401


def test_it_echoes_the_request_and_correlation_ids_and_makes_them_when_missing(client):
    _, token = connected_partner()
    response = call(client, "GET", "/ocpi/versions", token, HTTP_X_REQUEST_ID="req-1", HTTP_X_CORRELATION_ID="cor-1")
    assert response["X-Request-ID"] == "req-1"
    assert response["X-Correlation-ID"] == "cor-1"
    fresh = call(client, "GET", "/ocpi/versions", token)
    assert len(fresh["X-Request-ID"]) == 36 and len(fresh["X-Correlation-ID"]) == 36


def test_it_sends_no_routing_headers_on_configuration_modules(client):
    _, token = connected_partner()
    response = call(client, "GET", "/ocpi/versions", token, HTTP_OCPI_FROM_COUNTRY_CODE="DE")
    assert "OCPI-from-country-code" not in response


def test_it_refuses_an_absurdly_large_body_with_413_and_stores_nothing(client, settings):
    settings.OCPI_MAX_BODY_BYTES = 10_000
    partner, token = connected_partner()
    response = call(client, "PUT", "/ocpi/2.2.1/credentials", token, raw=b"{" + b" " * 20_000 + b"}")
    assert response.status_code == 413
    assert response.json()["status_code"] == 2001
    partner.refresh_from_db()
    assert partner.is_connected


def test_it_answers_invalid_json_with_400_and_2001(client):
    _, token = connected_partner()
    response = call(client, "PUT", "/ocpi/2.2.1/credentials", token, raw=b'{"token": ')
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001


def test_it_logs_requests_without_tokens(client, caplog):
    _, token = connected_partner()
    with caplog.at_level(logging.INFO):
        call(client, "GET", "/ocpi/versions", token)
        logging.getLogger("test").info("Authorization: Token %s and {'token': '%s'}", token, token)
    handler_filter = __import__("roaming.ocpi.logging", fromlist=["RedactSecretsFilter"]).RedactSecretsFilter()
    for record in caplog.records:
        handler_filter.filter(record)
        assert token not in record.getMessage()
    assert any("OCPI in GET /ocpi/versions" in r.getMessage() for r in caplog.records)


def test_it_redacts_tokens_and_stripe_secrets_in_any_shape():
    text = redact('Authorization: Token abcdefgh12345678 body {"token": "s3cr3t-value"} key sk_test_1234567890abcdef')
    assert "abcdefgh12345678" not in text and "s3cr3t-value" not in text and "1234567890abcdef" not in text


# Outbound client, against the real simulator over loopback -----------------------------------


def test_it_retries_a_5xx_and_then_succeeds(simulator):
    simulator.faults["versions"] = "500_once"
    with OcpiClient(simulator.token_a) as ocpi:
        response = ocpi.request("GET", simulator.versions_url)
    assert response.status_code == 1000
    assert [m for m, p in simulator.requests].count("GET") == 2


def test_it_waits_as_long_as_a_rate_limiting_partner_asks_before_retrying(simulator):
    simulator.faults.update(versions="429_once", retry_after="1")
    started = time.monotonic()
    with OcpiClient(simulator.token_a) as ocpi:  # backoff 0.01 s in tests: only Retry-After explains the wait
        response = ocpi.request("GET", simulator.versions_url)
    assert response.status_code == 1000
    assert time.monotonic() - started >= 1.0
    assert len(simulator.requests) == 2


def test_it_reads_a_retry_after_given_as_an_http_date(simulator):
    moment = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2), usegmt=True)
    simulator.faults.update(versions="503_once_retry_after", retry_after=moment)
    started = time.monotonic()
    with OcpiClient(simulator.token_a) as ocpi:
        assert ocpi.request("GET", simulator.versions_url).status_code == 1000
    assert time.monotonic() - started >= 0.9  # the date has whole seconds: at least 1 s of the 2 remain


def test_a_retry_after_longer_than_we_wait_in_a_call_ends_it_retryable_with_the_wait(simulator, settings):
    settings.OCPI_HTTP_MAX_RETRY_AFTER = 30
    simulator.faults.update(versions="429_once", retry_after="3600")
    started = time.monotonic()
    with OcpiClient(simulator.token_a) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", simulator.versions_url)
    assert time.monotonic() - started < 1 and len(simulator.requests) == 1  # no hammering, no hour-long sleep
    assert error.value.permanent is False and error.value.retry_after == 3600
    assert "HTTP 429" in error.value.message and "asked us to retry after 3600 s" in error.value.message


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "99999999999999999999", "Wed, 99 Foo 2026 25:00:00 GMT", "172800"])
def test_an_unreadable_or_absurd_retry_after_is_ignored_for_the_usual_backoff(simulator, value):
    simulator.faults.update(versions="429_once", retry_after=value)
    started = time.monotonic()
    with OcpiClient(simulator.token_a) as ocpi:
        assert ocpi.request("GET", simulator.versions_url).status_code == 1000
    assert time.monotonic() - started < 0.9


def test_a_sync_task_retries_no_sooner_than_the_partner_asked():
    assert retry_countdown(0, None) == 30 and retry_countdown(5, None) == 600
    assert retry_countdown(0, 3600) == 3600  # beyond our own backoff: the partner's wait
    assert retry_countdown(3, 5) == 240  # shorter than our backoff: ours


def test_it_gives_up_after_bounded_retries_with_a_retryable_error(simulator):
    simulator.faults["versions"] = "500"
    with OcpiClient(simulator.token_a, retries=2) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", simulator.versions_url)
    assert error.value.permanent is False
    assert error.value.http_status == 500
    assert len(simulator.requests) == 3


def test_it_reports_html_as_a_permanent_error(simulator):
    simulator.faults["versions"] = "html"
    with OcpiClient(simulator.token_a) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", simulator.versions_url)
    assert error.value.permanent is True
    assert "HTML" in error.value.message


@pytest.mark.parametrize(
    ("fault", "said"),
    [("404_with_success_envelope", "HTTP 404, OCPI status 1000"), ("400_with_3000_envelope", "HTTP 400, OCPI status 3000")],
)
def test_a_client_error_is_permanent_whatever_its_envelope_says(simulator, fault, said):
    # 1000 inside a 404 must not be read as data; 3000 inside a 400 must not be retried.
    simulator.faults["versions"] = fault
    for parse in (True, False):  # as the credentials flow reads responses, and as a sync reads pages
        simulator.requests.clear()
        with OcpiClient(simulator.token_a) as ocpi, pytest.raises(TransportError) as error:
            ocpi.request("GET", simulator.versions_url, parse=parse)
        assert error.value.permanent is True and said in error.value.message
        assert error.value.http_status in (400, 404) and error.value.ocpi_status in (1000, 3000)
        assert len(simulator.requests) == 1  # not retried


def test_it_times_out_on_a_hanging_server(simulator):
    simulator.faults.update(versions="hang", hang_seconds="5")
    started = time.monotonic()
    with OcpiClient(simulator.token_a, timeout=0.3, retries=0) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", simulator.versions_url)
    assert time.monotonic() - started < 2
    assert "timed out" in error.value.message and error.value.permanent is False


def test_it_reports_a_refused_connection_as_retryable():
    with OcpiClient("t", retries=0) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", "http://127.0.0.1:9/ocpi/versions")
    assert error.value.permanent is False


def test_it_refuses_to_follow_a_pagination_link_to_another_host(simulator):
    simulator.faults.update(locations_paging="foreign_link")
    simulator._inbound["c-token"] = "C"
    with OcpiClient("c-token") as ocpi, pytest.raises(TransportError) as error:
        list(iterate_pages(ocpi, f"{simulator.base_url}/2.2.1/locations", params={"limit": 10}))
    assert "another host" in error.value.message
    assert error.value.permanent is True
    assert len(simulator.requests) == 1


def test_a_pagination_link_to_the_same_host_on_another_port_says_which_origins_differ(simulator, monkeypatch):
    port = urlsplit(simulator.base_url).port
    other = simulator.base_url.replace(f":{port}", f":{port + 1}")
    original = OcpiClient.request

    def request(self, method, url, **kwargs):
        response = original(self, method, url, **kwargs)
        link = response.headers.get("Link")
        if link:  # the same host, another port: still not where we were sent
            response.headers["Link"] = link.replace(simulator.base_url, other)
        return response

    monkeypatch.setattr(OcpiClient, "request", request)
    simulator.faults.update(locations_paging="forever")  # a next page, whatever the network's size
    simulator._inbound["c-token"] = "C"
    with OcpiClient("c-token") as ocpi, pytest.raises(TransportError) as error:
        list(iterate_pages(ocpi, f"{simulator.base_url}/2.2.1/locations", params={"limit": 10}))
    assert f"another host (http://127.0.0.1:{port + 1}, not http://127.0.0.1:{port})" in error.value.message


@pytest.mark.parametrize(("fault", "expected"), [("deep_after_first_page", "nested too deeply"), ("long_number_after_first_page", "too long")])
def test_it_reports_json_no_parser_can_read_as_a_permanent_error(simulator, fault, expected):
    simulator.faults["locations"] = fault
    simulator._inbound["c-token"] = "C"
    with OcpiClient("c-token", retries=0) as ocpi, pytest.raises(TransportError) as error:
        ocpi.request("GET", f"{simulator.base_url}/2.2.1/locations", params={"offset": 10, "limit": 10})
    assert "response cannot be read" in error.value.message and expected in error.value.message
    assert error.value.permanent is True


def test_a_link_back_to_a_page_already_read_in_another_spelling_ends_the_loop_without_reading_it_again(simulator):
    from roaming.simulator.network import build_network

    simulator.network = build_network(locations=30, seed=1)
    simulator.faults.update(locations_paging="self_link_respelled")
    simulator._inbound["c-token"] = "C"
    pages = []
    with OcpiClient("c-token") as ocpi, pytest.raises(TransportError) as error:
        for page in iterate_pages(ocpi, f"{simulator.base_url}/2.2.1/locations", params={"limit": 10}):
            pages.append(page)
    assert "pagination loop" in error.value.message and error.value.permanent is True
    assert len(pages) == 2 and len(simulator.requests) == 2  # page 2 was not read (nor stored) twice


def test_it_stops_a_server_that_pages_forever(simulator):
    simulator.faults.update(locations_paging="forever")
    simulator._inbound["c-token"] = "C"
    with OcpiClient("c-token") as ocpi, pytest.raises(TransportError) as error:
        list(iterate_pages(ocpi, f"{simulator.base_url}/2.2.1/locations", params={"limit": 10}, max_pages=5))
    assert "did not end after 5 pages" in error.value.message


def test_https_peers_are_verified_and_a_self_signed_certificate_is_refused(tmp_path):
    """Plain HTTP never loads the CA bundle (see client._Transport); HTTPS always verifies."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with OcpiClient("token", retries=0, timeout=3) as client, pytest.raises(TransportError) as error:
            client.request("GET", f"https://127.0.0.1:{server.server_address[1]}/ocpi/versions")
        assert "TLS certificate was refused" in error.value.message
        assert "self-signed certificate" in error.value.message  # the verifier's own reason
        assert error.value.permanent is True  # the same certificate fails the same way
    finally:
        server.shutdown()
