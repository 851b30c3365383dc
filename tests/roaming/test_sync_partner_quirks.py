"""What partners' servers do that the simulator does not by itself: Link and X-Total-Count variants,
error envelopes, plain-text error pages, wrong-shaped pages; and how a pull ends when it is
interrupted or out of retries. Each case was a defect found by an audit (2026-11-22)."""

from __future__ import annotations

import io

import httpx
import pytest
from django.core.management import CommandError, call_command

from roaming.models import Location, SyncRun
from roaming.ocpi.client import OcpiClient, iterate_pages
from roaming.services import sync
from roaming.simulator.server import CpoSimulator

pytestmark = pytest.mark.django_db(transaction=True)

# `network` and `partner`: see conftest.py.


def _rewrite_headers(monkeypatch, rewrite):
    """Make the simulator's list pages carry other headers (a partner's server, as found in the field)."""
    original = CpoSimulator._send

    def _send(self, handler, status, payload=None, *, raw=None, headers=None, content_type="application/json"):
        if headers and "X-Total-Count" in headers:
            headers = rewrite(dict(headers))
        return original(self, handler, status, payload, raw=raw, headers=headers, content_type=content_type)

    monkeypatch.setattr(CpoSimulator, "_send", _send)


# X-Total-Count is for display only -------------------------------------------------


@pytest.mark.parametrize("count", ["99999999999999999999999"])  # PostgreSQL: anything above 2147483647
def test_an_out_of_range_x_total_count_does_not_cost_the_partners_data(partner, monkeypatch, count):
    def rewrite(headers):
        headers["X-Total-Count"] = count
        return headers

    _rewrite_headers(monkeypatch, rewrite)
    try:
        run = sync.sync_module(partner=partner, module="locations", full=True)
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"a header we only display failed the pull: {error!r}; {Location.objects.count()} stored")
    assert run.state == SyncRun.State.SUCCEEDED and Location.objects.count() == 120
    assert run.total_reported is None


# Link: RFC 8288 relation types are case-insensitive; a comma may sit inside the target ------------


@pytest.mark.parametrize("template", ['<{url}>; rel="Next"', '<{url}>; REL="next"', '<{url}>; rel="prev next"'])
def test_a_next_link_is_followed_whatever_the_case_of_rel(partner, monkeypatch, template):
    def rewrite(headers):
        if "Link" in headers:
            url = headers["Link"].split(">", 1)[0][1:]
            headers["Link"] = template.format(url=url)
        return headers

    _rewrite_headers(monkeypatch, rewrite)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.pages == 5 and Location.objects.count() == 120, (
        f"{run.state}: {run.pages} page(s), {Location.objects.count()} of 120 locations, and the run says it succeeded"
    )


def test_a_next_link_whose_rel_is_in_single_quotes_is_followed(partner, monkeypatch):
    def rewrite(headers):
        if "Link" in headers:
            headers["Link"] = headers["Link"].replace('rel="next"', "rel='next'")
        return headers

    _rewrite_headers(monkeypatch, rewrite)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.pages == 5 and Location.objects.count() == 120, f"{run.pages} page(s), {Location.objects.count()} of 120"


def test_a_full_list_shorter_than_the_count_it_announced_hides_nothing(partner, monkeypatch):
    sync.sync_module(partner=partner, module="locations", full=True)
    shown = Location.objects.filter(is_visible=True).count()

    def no_next_page(headers):  # the first page alone, still announcing 120
        headers.pop("Link", None)
        return headers

    _rewrite_headers(monkeypatch, no_next_page)
    run = sync.sync_module(partner=partner, module="locations", full=True)

    assert (run.state, run.pages, run.total_reported, run.delisted) == (SyncRun.State.SUCCEEDED, 1, 120, 0)
    assert "The list had 25 of the 120 objects the CPO announced" in run.note
    assert Location.objects.filter(is_visible=True).count() == shown and not Location.objects.filter(delisted_at__isnull=False).exists()


def test_a_next_link_with_a_comma_in_its_url_is_followed(partner, monkeypatch):
    def rewrite(headers):
        if "Link" in headers:
            url = headers["Link"].split(">", 1)[0][1:]
            headers["Link"] = f'<{url}&fields=id,evses>; rel="next"'
        return headers

    _rewrite_headers(monkeypatch, rewrite)
    run = sync.sync_module(partner=partner, module="locations", full=True)
    assert run.pages == 5 and Location.objects.count() == 120, f"{run.pages} page(s), {Location.objects.count()} of 120"


# HTTP 200 with an OCPI 3xxx envelope is the spec's way to say "server error": retryable ---


def test_a_generic_server_error_envelope_is_retryable(partner, monkeypatch):
    original = CpoSimulator._list

    def _list(self, handler, kind, query):
        if int(query.get("offset", ["0"])[0]) > 0:
            return self._error(handler, 200, 3000, "database busy, try again")
        return original(self, handler, kind, query)

    monkeypatch.setattr(CpoSimulator, "_list", _list)
    with pytest.raises(sync.SyncError) as caught:
        sync.sync_module(partner=partner, module="locations", full=True)
    run = SyncRun.objects.get()
    assert run.pages == 1 and "3000" in run.error
    # The outbound client itself calls 3xxx retryable (permanent = status < 3000): the sync must agree,
    # or the Celery task gives up and the run is never resumed.
    assert caught.value.permanent is False and run.error_permanent is False


@pytest.mark.parametrize(("code", "permanent"), [(3000, False), (2001, True)])
def test_an_error_envelope_with_an_empty_list_fails_the_increment_instead_of_ending_it_with_nothing(
    partner, network, monkeypatch, code, permanent
):
    # Read as an empty page, it ended the increment SUCCEEDED with 0 objects, and the next one asked
    # only for what changed after it started: the changes in between were lost until the full pull.
    first = sync.sync_module(partner=partner, module="locations", full=True)
    original = CpoSimulator._list

    def _list(self, handler, kind, query):
        self._send(handler, 200, {"status_code": code, "status_message": "database busy", "data": [], "timestamp": "2026-01-01T00:00:00Z"})

    monkeypatch.setattr(CpoSimulator, "_list", _list)
    with pytest.raises(sync.SyncError) as caught:
        sync.sync_module(partner=partner, module="locations", full=False)
    failed = SyncRun.objects.get(mode=SyncRun.Mode.INCREMENTAL)
    assert (failed.state, failed.objects_stored, caught.value.permanent) == (SyncRun.State.FAILED, 0, permanent)
    assert str(code) in failed.error and "database busy" in failed.error

    monkeypatch.setattr(CpoSimulator, "_list", original)
    after = sync.sync_module(partner=partner, module="locations", full=False)
    assert after.date_from == first.started_at - sync.INCREMENTAL_OVERLAP  # still from the last pull that succeeded


# Celery: out of retries, the run stays FAILED with its reason ----------------------------------


def test_a_task_out_of_retries_leaves_its_run_failed_with_the_reason(partner, simulator, settings):
    from roaming.tasks import sync_partner_module

    settings.CELERY_TASK_ALWAYS_EAGER = True
    simulator.faults["locations"] = "500_after_first_page"
    result = sync_partner_module.apply(args=(partner.pk, "locations", True), retries=5, throw=False)
    assert result.failed()  # retries exhausted
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.FAILED, f"run is {run.state} with error {run.error!r} after the task gave up"
    assert "500" in run.error and not run.error_permanent


# Ctrl-C during ocpi_sync: the run ends FAILED (retryable), the operator can run it again at once --------


def test_ctrl_c_during_ocpi_sync_does_not_leave_the_run_running(partner, monkeypatch):
    original = sync._store_page
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(sync, "_store_page", interrupted)
    with pytest.raises(KeyboardInterrupt):
        call_command("ocpi_sync", "--module", "locations", "--full", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    monkeypatch.setattr(sync, "_store_page", original)
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.FAILED and not run.error_permanent
    assert "interrupted (KeyboardInterrupt) after 1 pages" in run.error
    err = io.StringIO()
    try:
        call_command("ocpi_sync", "--module", "locations", "--full", "--no-progress", stdout=io.StringIO(), stderr=err)
    except CommandError:
        pytest.fail(f"the operator's retry right after Ctrl-C is refused: {err.getvalue()}")


# An explicit default port is the same origin -----------------------------------------


def test_a_next_link_with_the_default_port_spelled_out_is_followed(settings):
    pages = {
        "/ocpi/2.2.1/locations": ('{"status_code":1000,"data":[]}', '<https://cpo.example:443/ocpi/2.2.1/locations?offset=1>; rel="next"'),
        "/ocpi/2.2.1/locations?offset=1": ('{"status_code":1000,"data":[]}', None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        body, link = pages[key]
        return httpx.Response(200, content=body.encode(), headers={"Link": link} if link else {})

    client = OcpiClient("t", transport=httpx.MockTransport(handler))
    got = [page.url for page in iterate_pages(client, "https://cpo.example/ocpi/2.2.1/locations")]
    assert len(got) == 2


# A 4xx with a plain-text body is permanent, and its reason quotes the body, not JSON -----------------


@pytest.mark.parametrize("status,body", [(404, b"404 page not found\n"), (400, b"Bad Request"), (405, b"Method Not Allowed")])
def test_a_4xx_with_a_plain_text_body_is_permanent(partner, simulator, monkeypatch, status, body):
    def _list(self, handler, kind, query):  # Go's net/http, many proxies: text/plain error pages
        self._send(handler, status, raw=body, content_type="text/plain; charset=utf-8")

    monkeypatch.setattr(CpoSimulator, "_list", _list)
    with pytest.raises(sync.SyncError) as caught:
        sync.sync_module(partner=partner, module="locations", full=True)
    tries = [p for m, p in simulator.requests if "/locations" in p]
    run = SyncRun.objects.get()
    assert caught.value.permanent and run.error_permanent and len(tries) == 1, (
        f"HTTP {status} retried {len(tries)} times, error_permanent={run.error_permanent}: {run.error}"
    )
    assert f"HTTP {status} ({body.decode().strip()})" in run.error and "JSON" not in run.error


# Well-formed JSON of the wrong shape is permanent: the same answer will come again ------------------------------------------


def test_a_page_whose_data_is_an_object_is_a_permanent_error(partner, simulator, monkeypatch):
    location = simulator.network.locations[0]

    def _list(self, handler, kind, query):
        self._send(handler, 200, {"status_code": 1000, "timestamp": "2026-11-01T00:00:00Z", "data": location})

    monkeypatch.setattr(CpoSimulator, "_list", _list)
    with pytest.raises(sync.SyncError) as caught:
        sync.sync_module(partner=partner, module="locations", full=True)
    run = SyncRun.objects.get()
    assert "expected a list" in run.error
    assert caught.value.permanent and run.error_permanent, "the same answer again will not be a list: five Celery retries wasted"


# ocpi_sync goes on with the other pulls after an unexpected failure -----


def test_ocpi_sync_goes_on_to_the_next_module_after_an_unexpected_failure(partner, monkeypatch):
    from roaming.services import network as network_service

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(network_service, "write_locations", broken)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 pull"):
        call_command("ocpi_sync", "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "locations: failed (unexpected RuntimeError: a bug of ours)" in err.getvalue()
    runs = dict(SyncRun.objects.values_list("module", "state"))
    assert runs == {"locations": SyncRun.State.FAILED, "tariffs": SyncRun.State.SUCCEEDED}
