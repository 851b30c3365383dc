"""Pagination as an OCPI Sender: the page, its headers, and the next link a client follows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory

from roaming.models import Partner
from roaming.ocpi.envelope import InvalidParameters
from roaming.ocpi.pagination import paginate

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def partners():
    # Partners stand in for any model with a timestamp; created out of order on purpose.
    rows = []
    for index in (3, 0, 4, 1, 2):
        rows.append(Partner.objects.create(name=f"p{index}", status="CONNECTED"))
        Partner.objects.filter(pk=rows[-1].pk).update(last_contact_at=T0 + dt.timedelta(hours=index))
    return rows


def _page(query: str):
    request = RequestFactory().get("/ocpi/2.2.1/tokens" + query)
    return paginate(request, Partner.objects.all(), serialize=lambda p: p.name, max_limit=2, date_field="last_contact_at")


def test_it_pages_oldest_first_with_total_limit_and_next_link(partners, settings):
    settings.OCPI_BASE_URL = "https://emsp.example"
    first = _page("")
    assert first.data == ["p0", "p1"]
    assert first.headers["X-Total-Count"] == "5" and first.headers["X-Limit"] == "2"
    assert first.headers["Link"] == '<https://emsp.example/ocpi/2.2.1/tokens?offset=2&limit=2>; rel="next"'
    last = _page("?offset=4&limit=2")
    assert last.data == ["p4"] and "Link" not in last.headers


def test_it_caps_the_limit_and_keeps_the_filters_in_the_next_link(partners):
    result = _page("?limit=50&date_from=2026-01-01T01:00:00Z&date_to=2026-01-01T04:00:00Z")
    assert result.data == ["p1", "p2"]  # date_from inclusive, date_to exclusive
    assert result.headers["X-Total-Count"] == "3"
    assert "date_from=2026-01-01T01%3A00%3A00Z" in result.headers["Link"] and "offset=2" in result.headers["Link"]


@pytest.mark.parametrize("query", ["?offset=-1", "?limit=ten", "?date_from=yesterday"])
def test_it_refuses_bad_paging_parameters(partners, query):
    with pytest.raises(InvalidParameters):
        _page(query)
