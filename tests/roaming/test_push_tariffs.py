"""Tariffs pushed to us (eMSP as Receiver, checklist §5.1): PUT/DELETE/GET over our real OCPI views
with a real partner token, and what ends up in the database (every version kept, soft deletes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from roaming.models import Partner, Tariff, TariffVersion
from tests.ocpi_wire.paths import EXAMPLES, example

from .factories import connected_partner
from .ocpi_http import assert_refused, call, rows

pytestmark = pytest.mark.django_db

BASE = "/ocpi/2.2.1/tariffs"
URL = f"{BASE}/DE/ALL/12"  # the ids of the spec's tariff examples


def spec_tariff(name: str = "tariff_1_simple_2hour.json", **changes: Any) -> dict[str, Any]:
    body = example(name)
    body.update(changes)
    return body


@pytest.fixture
def cpo() -> tuple[Partner, str]:
    return connected_partner("DE", "ALL")


@pytest.fixture
def token(cpo) -> str:
    return cpo[1]


@pytest.fixture
def stored(client, token) -> Tariff:
    response = call(client, "PUT", URL, token, body=spec_tariff())
    assert response.status_code == 201, response.json()
    return Tariff.objects.get()


def tariff_state() -> dict[str, list[dict[str, Any]]]:
    return rows(Tariff, TariffVersion)




SPEC_TARIFFS = sorted(
    path.name for path in EXAMPLES.glob("tariff_*.json") if path.name != "tariff_put_example.json"
)


@pytest.mark.parametrize("name", SPEC_TARIFFS)
def test_it_creates_every_spec_tariff_example_with_201_and_keeps_its_version(client, cpo, name):
    body = example(name)
    partner, token = cpo
    if (body["country_code"], body["party_id"]) != ("DE", "ALL"):
        partner, token = connected_partner(body["country_code"], body["party_id"])

    response = call(
        client, "PUT", f"{BASE}/{body['country_code']}/{body['party_id']}/{body['id']}", token, body=body
    )

    assert response.status_code == 201, response.json()
    tariff = Tariff.objects.get()
    assert (tariff.ocpi_id, tariff.currency, tariff.partner, tariff.deleted_at) == (
        body["id"],
        body["currency"],
        partner,
        None,
    )
    assert tariff.versions.count() == 1


def test_it_reads_tariff_enums_sent_with_trailing_spaces_as_their_values(client, token):
    body = spec_tariff(type="REGULAR ")
    body["elements"][0]["price_components"][0]["type"] = "TIME "

    response = call(client, "PUT", URL, token, body=body)

    assert response.status_code == 201, response.json()
    raw = Tariff.objects.get().versions.get().raw
    assert (raw["type"], raw["elements"][0]["price_components"][0]["type"]) == ("REGULAR", "TIME")


def test_it_replaces_a_tariff_with_200_and_keeps_every_version(client, token, stored):
    newer = spec_tariff("tariff_8_simple_025kwh.json", last_updated="2016-01-01T00:00:00Z")
    newer["id"] = "12"

    response = call(client, "PUT", URL, token, body=newer)

    assert response.status_code == 200
    stored.refresh_from_db()
    assert stored.raw["elements"][0]["price_components"][0]["type"] == "ENERGY"
    assert list(stored.versions.values_list("raw__elements__0__price_components__0__type", flat=True)) == [
        "ENERGY",
        "TIME",
    ]


def test_it_acknowledges_a_tariff_put_older_than_what_it_holds_and_keeps_it_only_in_the_history(client, token, stored):
    """Sent late (out of order), the older version does not replace the current one, but it was in
    force before it: a session that started then is priced with it."""
    before = rows(Tariff)
    response = call(
        client, "PUT", URL, token, body=spec_tariff(currency="CHF", last_updated="2014-01-01T00:00:00Z")
    )
    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert "not applied" in response.json()["status_message"]
    assert rows(Tariff) == before
    late = stored.version_at(dt.datetime(2014, 6, 1, tzinfo=dt.UTC))
    assert late is not None and late.raw["currency"] == "CHF"
    assert stored.versions.count() == 2 and stored.version_at(stored.last_updated).raw["currency"] == "EUR"
    # Sent again, it is not kept twice.
    call(client, "PUT", URL, token, body=spec_tariff(currency="CHF", last_updated="2014-01-01T00:00:00Z"))
    assert stored.versions.count() == 2


def test_it_answers_a_repeated_put_with_200_and_writes_nothing(client, token, stored):
    before = tariff_state()
    response = call(client, "PUT", URL, token, body=spec_tariff())
    assert response.status_code == 200
    assert tariff_state() == before


def test_it_returns_the_stored_tariff_on_get(client, token, stored):
    data = call(client, "GET", URL, token).json()["data"]
    assert data == {
        "country_code": "DE",
        "party_id": "ALL",
        "id": "12",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "TIME", "price": 2, "vat": 10, "step_size": 60}]}],
        "last_updated": "2015-06-29T20:39:09Z",
    }


def test_it_finds_a_tariff_case_insensitively(client, token, stored):
    assert call(client, "GET", f"{BASE}/de/all/12/", token).status_code == 200


def test_it_soft_deletes_a_tariff_keeps_its_history_and_then_does_not_know_it(client, token, stored):
    response = call(client, "DELETE", URL, token)

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    stored.refresh_from_db()
    deleted_at = stored.deleted_at
    assert deleted_at is not None
    assert stored.versions.count() == 1
    assert_refused(call(client, "GET", URL, token), 404, 2000, "Unknown tariff")
    # A repeated DELETE (pushes repeat) is harmless and keeps the first time.
    assert call(client, "DELETE", URL, token).status_code == 200
    stored.refresh_from_db()
    assert stored.deleted_at == deleted_at


@pytest.mark.parametrize("back_with", ["the-same-version", "a-newer-version"])
def test_the_history_says_no_tariff_applied_between_a_delete_and_its_return(client, token, stored, time_machine, back_with):
    # A session that started after the DELETE must not be priced with the deleted tariff.
    at = lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)  # noqa: E731
    time_machine.move_to(at("2026-03-01T10:00:00"), tick=False)
    call(client, "DELETE", URL, token)
    time_machine.move_to(at("2026-03-05T10:00:00"), tick=False)
    again = spec_tariff() if back_with == "the-same-version" else spec_tariff(last_updated="2026-03-05T09:00:00Z")
    assert call(client, "PUT", URL, token, body=again).status_code == 201

    stored.refresh_from_db()
    before, gone, returned = (stored.version_at(at(moment)) for moment in ("2026-02-28T12:00:00", "2026-03-03T12:00:00", "2026-03-06T12:00:00"))
    assert before is not None and before.last_updated == at("2015-06-29T20:39:09")
    assert gone is None
    assert returned is not None and returned.last_updated == stored.last_updated
    assert list(stored.withdrawals.values_list("withdrawn_at", "restored_at")) == [(at("2026-03-01T10:00:00"), at("2026-03-05T10:00:00"))]
    call(client, "DELETE", URL, token)  # withdrawn again: a second period, open
    assert stored.withdrawals.filter(restored_at__isnull=True).count() == 1 and stored.withdrawals.count() == 2


def test_it_brings_a_deleted_tariff_back_with_a_newer_put(client, token, stored):
    call(client, "DELETE", URL, token)
    response = call(client, "PUT", URL, token, body=spec_tariff(last_updated="2016-01-01T00:00:00Z"))
    assert response.status_code == 201
    stored.refresh_from_db()
    assert stored.deleted_at is None and stored.versions.count() == 2
    assert call(client, "GET", URL, token).status_code == 200


def test_it_brings_a_deleted_tariff_back_with_the_same_version_put_again(client, token, stored):
    call(client, "DELETE", URL, token)
    assert call(client, "PUT", URL, token, body=spec_tariff()).status_code == 201
    stored.refresh_from_db()
    assert stored.deleted_at is None and stored.versions.count() == 1


def test_it_answers_delete_and_get_of_an_unknown_tariff_with_404(client, token):
    assert_refused(call(client, "DELETE", f"{BASE}/DE/ALL/NOPE", token), 404, 2000, "Unknown tariff 'NOPE'")
    assert_refused(call(client, "GET", f"{BASE}/DE/ALL/NOPE", token), 404, 2000)


# Bad input ---------------------------------------------------------------------------------------


def _component(**changes: Any) -> dict[str, Any]:
    body = spec_tariff(last_updated="2016-01-01T00:00:00Z")
    body["elements"][0]["price_components"][0].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(
            example("tariff_put_example.json"),
            ["last_updated: required field is missing"],
            id="spec-put-example-without-last-updated",
        ),
        pytest.param(
            _component(price="two euros"),
            ["elements[0].price_components[0].price", "a number"],
            id="wrong-type",
        ),
        pytest.param(
            _component(type="KWH"), ["'KWH' is not a valid TariffDimensionType"], id="unknown-dimension"
        ),
        pytest.param(
            spec_tariff(type="CHEAP", last_updated="2016-01-01T00:00:00Z"),
            ["type", "'CHEAP' is not a valid TariffType"],
            id="unknown-type",
        ),
        pytest.param(
            spec_tariff(elements=[], last_updated="2016-01-01T00:00:00Z"),
            ["elements", "at least 1"],
            id="no-elements",
        ),
        pytest.param(
            {k: v for k, v in spec_tariff().items() if k != "currency"},
            ["currency: required field is missing"],
            id="missing-currency",
        ),
        pytest.param(spec_tariff(currency="euro"), ["currency", "ISO 4217"], id="bad-currency"),
        pytest.param(
            spec_tariff(currency="XYZ"), ["currency: 'XYZ' is not an ISO 4217 code of a currency"], id="no-such-currency"
        ),
        pytest.param(_component(price=-1), ["price", "below the minimum"], id="negative-price"),
        pytest.param(
            _component(step_size=True), ["step_size: expected a number, got a boolean"], id="boolean-step-size"
        ),
        pytest.param(
            _component(price="1e5000"),
            ["elements[0].price_components[0].price", "too large: at most 15 digits"],
            id="price-too-large",
        ),
        pytest.param(
            _component(price="1e1000000"),  # converting it to an integer took seconds of CPU
            ["elements[0].price_components[0].price", "too large: at most 15 digits"],
            id="price-with-a-huge-exponent",
        ),
        pytest.param(
            spec_tariff(min_price={"excl_vat": 10}, max_price={"excl_vat": 5}, last_updated="2016-01-01T00:00:00Z"),
            ["max_price.excl_vat: is below min_price.excl_vat"],
            id="max-price-below-min-price",
        ),
        pytest.param(
            spec_tariff(start_date_time="2026-02-01T00:00:00Z", end_date_time="2026-01-01T00:00:00Z"),
            ["end_date_time", "is before start_date_time"],
            id="ends-before-it-starts",
        ),
    ],
)
def test_it_refuses_a_bad_tariff_put_precisely_and_writes_nothing(client, token, stored, body, fragments):
    before = tariff_state()
    assert_refused(call(client, "PUT", URL, token, body=body), 200, 2001, *fragments)
    assert tariff_state() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"id": "13"}, "id"), ({"country_code": "NL"}, "country_code"), ({"party_id": "XYZ"}, "party_id")],
)
def test_it_refuses_a_tariff_put_whose_body_ids_disagree_with_the_url(client, token, stored, changes, field):
    before = tariff_state()
    body = spec_tariff(last_updated="2016-01-01T00:00:00Z", **changes)
    assert_refused(call(client, "PUT", URL, token, body=body), 200, 2001, f"{field}: body has")
    assert tariff_state() == before


def test_it_refuses_a_tariff_body_over_the_size_limit_with_413(client, token, settings):
    settings.OCPI_MAX_BODY_BYTES = 500
    body = spec_tariff(tariff_alt_text=[{"language": "en", "text": "z" * 400}] * 3)
    assert_refused(call(client, "PUT", URL, token, body=body), 413, 2001)
    assert not Tariff.objects.exists()


def test_it_answers_invalid_tariff_json_with_400(client, token):
    assert_refused(call(client, "PUT", URL, token, raw=b'{"id": "12",}'), 400, 2001, "not valid JSON")
    assert not Tariff.objects.exists()


# Whose tariffs -----------------------------------------------------------------------------------


def test_it_refuses_tariffs_under_a_party_not_in_the_callers_roles(client, token, stored):
    before = tariff_state()
    other = spec_tariff(country_code="NL", party_id="TNM")
    path = f"{BASE}/NL/TNM/12"
    for method, body in (("PUT", other), ("GET", None), ("DELETE", None)):
        assert_refused(call(client, method, path, token, body=body), 404, 2000, "NL*TNM is not one of")
    assert tariff_state() == before


def test_it_never_touches_a_tariff_held_for_another_partner_with_the_same_key(client, token, stored):
    _, intruder_token = connected_partner("DE", "ALL")
    before = tariff_state()
    newer = spec_tariff(currency="CHF", last_updated="2016-01-01T00:00:00Z")
    for method, body in (("PUT", newer), ("DELETE", None), ("GET", None)):
        assert_refused(
            call(client, method, URL, intruder_token, body=body), 404, 2000, "another OCPI connection"
        )
    assert tariff_state() == before


def test_a_tariff_put_with_the_same_last_updated_replaces_that_version(client, token, stored):
    response = call(client, "PUT", URL, token, body=spec_tariff(currency="CHF"))
    assert response.status_code == 200 and response.json()["status_code"] == 1000, response.json()
    tariff = Tariff.objects.get()
    assert tariff.currency == "CHF" and tariff.last_updated == stored.last_updated
    # The tariff as of that moment is what the CPO said last: one version, the new content.
    assert list(tariff.versions.values_list("raw__currency", flat=True)) == ["CHF"]
    assert tariff.versions.get().received == spec_tariff(currency="CHF")


def test_each_version_keeps_the_tariff_exactly_as_the_cpo_sent_it(client, token):
    body = spec_tariff(x_vendor_code="T-12")
    component = body["elements"][0]["price_components"][0]
    component["price"] = str(component["price"])  # a number sent as a string: tolerated, read as a number
    response = call(client, "PUT", URL, token, body=body)
    assert response.status_code == 201, response.json()
    version = TariffVersion.objects.get()
    assert version.received == body  # for audit and disputes: its own fields and spellings included
    assert "x_vendor_code" not in version.raw  # what pricing reads: the tariff as read
    assert version.raw["elements"][0]["price_components"][0]["price"] == float(component["price"])


def test_a_tariff_passes_to_another_connection_once_its_holder_is_unregistered(client, cpo, token, stored):
    holder, _ = cpo
    newcomer, newcomer_token = connected_partner("DE", "ALL")
    holder.status = Partner.Status.UNREGISTERED
    holder.save()
    newer = spec_tariff(currency="CHF", last_updated="2016-01-01T00:00:00Z")
    response = call(client, "PUT", URL, newcomer_token, body=newer)
    assert response.status_code == 200 and response.json()["status_code"] == 1000, response.json()
    tariff = Tariff.objects.get()
    assert tariff.partner == newcomer and tariff.currency == "CHF"
    assert tariff.versions.count() == 2  # the old holder's version stays in the history


# Transport details ---------------------------------------------------------------------------------


def test_it_answers_a_tariff_patch_with_405_as_2_2_1_has_none(client, token, stored):
    before = tariff_state()
    response = call(
        client, "PATCH", URL, token, body={"currency": "CHF", "last_updated": "2016-01-01T00:00:00Z"}
    )
    assert_refused(response, 405, 2000)
    assert tariff_state() == before


def test_it_refuses_a_registration_token_on_the_tariffs_module(client):
    partner, _ = connected_partner("DE", "ALL")
    token_a = partner.issue_inbound_token(registration=True)
    partner.save()
    assert_refused(call(client, "PUT", URL, token_a, body=spec_tariff()), 401, 2000, "token A")
    assert not Tariff.objects.exists()


def test_it_sets_the_routing_headers_on_tariffs_responses(client, token, stored):
    response = call(
        client, "GET", URL, token, HTTP_OCPI_FROM_COUNTRY_CODE="DE", HTTP_OCPI_FROM_PARTY_ID="ALL"
    )
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("DE", "ALL")
    assert response["OCPI-from-country-code"] == "NL"


@pytest.mark.parametrize("path", [BASE, f"{BASE}/", f"{BASE}/DE/ALL", f"{URL}/extra"])
def test_it_answers_the_module_url_and_malformed_paths_with_a_404_envelope(client, token, path):
    assert_refused(call(client, "GET", path, token), 404, 2000, "/{country_code}/{party_id}/{tariff_id}")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_nul_in_the_tariff_id_of_the_url_is_refused_precisely(client, token, stored, method):
    before = tariff_state()
    body = spec_tariff() if method == "PUT" else None
    response = call(client, method, f"{URL}%00", token, body=body)
    assert_refused(response, 200, 2001, "URL's tariff_id contains a NUL")
    assert tariff_state() == before
