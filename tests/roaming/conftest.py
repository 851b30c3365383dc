"""Fixtures of the pull tests: a small simulated network served by the CPO simulator, and a partner
registered with it through the real credentials handshake (pages of `page_limit`, 25: five pages).
A module overrides `network` or `page_limit` for another shape."""

from __future__ import annotations

import datetime as dt

import pytest

from config.celery import app
from roaming.models import Partner
from roaming.services.credentials import register_with_partner
from roaming.simulator.network import build_network

BASE_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def network():
    return build_network(locations=120, seed=7, country_code="DE", party_id="SIM", base_time=BASE_TIME)


@pytest.fixture
def page_limit() -> int:
    return 25


@pytest.fixture
def partner(emsp, simulator, network, page_limit, settings) -> Partner:
    settings.OCPI_PAGE_LIMIT = page_limit
    simulator.network = network
    return register_with_partner(versions_url=simulator.versions_url, token_a=simulator.token_a)


@pytest.fixture
def eager_tasks():
    """Celery runs what is queued in the caller (a request, a test) at once, as a worker would
    moments later."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager
