"""A shared, read-only simulated network; tests that change a network build their own."""

from __future__ import annotations

import pytest

from roaming.simulator.network import Network, build_network

SEED = 2026
SIZE = 4000


@pytest.fixture(scope="session")
def network() -> Network:
    return build_network(locations=SIZE, seed=SEED)
