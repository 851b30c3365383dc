"""The driver REST API's foundation: sign-in, one error shape, auth required, OpenAPI."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver():
    return get_user_model().objects.create_user(username="ana", email="ana@example.com", password="a-long-passphrase")


def test_a_mobile_client_trades_email_and_password_for_a_token_and_uses_it(client, driver):
    response = client.post("/api/v1/auth/token/", {"email": "ANA@example.com", "password": "a-long-passphrase"}, content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200 and me.json()["email"] == "ana@example.com"


@pytest.mark.parametrize("email", ["ana@example.com", "nobody@example.com"])
def test_a_wrong_login_gets_one_message_for_both_unknown_email_and_wrong_password(client, driver, email):
    response = client.post("/api/v1/auth/token/", {"email": email, "password": "wrong"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "authentication_failed", "message": "The email or the password is not right.", "fields": {}}}


def test_a_bad_field_is_named_in_the_error(client):
    response = client.post("/api/v1/auth/token/", {"email": "not-an-email"}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "email" in error["fields"] and "password" in error["fields"]


def test_the_api_needs_authentication(client):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_sign_in_is_throttled(client, driver, settings, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    # A cache of its own: with Redis (CI's second pass) the counts are shared with every other
    # test process signing in from 127.0.0.1.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"}}
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)  # read when DRF was imported
    codes = [
        client.post("/api/v1/auth/token/", {"email": "ana@example.com", "password": "x"}, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_the_openapi_schema_and_its_browser_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    assert client.get("/api/docs/").status_code == 200
