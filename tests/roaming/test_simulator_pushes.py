"""The CPO simulator, run as the command, registers with us and pushes status PATCHes over HTTP."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from roaming.models import EVSE, Partner
from roaming.services import sync

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _pull_then_wait_for_pushes(partner: Partner, *, wanted: int = 5) -> list[str]:
    """Pull the partner's locations, then wait (up to 20 s) until `wanted` EVSEs are newer than the
    pull: at 40 PATCHes a second, that takes well under a second. The uids of those EVSEs."""
    sync.sync_module(partner=partner, module="locations", full=True)
    pulled = dict(EVSE.objects.values_list("uid", "last_updated"))
    deadline = time.monotonic() + 20
    pushed: list[str] = []
    while time.monotonic() < deadline and len(pushed) < wanted:
        time.sleep(0.5)
        pushed = [uid for uid, updated in EVSE.objects.values_list("uid", "last_updated") if updated > pulled[uid]]
    return pushed


def test_the_simulator_command_registers_and_pushes_status_changes_that_land_in_our_database(emsp):
    out = io.StringIO()
    call_command("ocpi_issue_token", "--name", "Pushing CPO", stdout=out)
    token_a = out.getvalue().split("token A:")[1].split()[0]
    # --port 0: any free port (one chosen here could be taken by another process before it binds).
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ocpi_simulate_cpo", "--port", "0", "--locations", "30", "--seed", "5",
         "--register-to", f"{emsp.url}/ocpi/versions", "--register-token", token_a, "--push-rate", "40"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not Partner.objects.filter(status=Partner.Status.CONNECTED).exists():
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the simulator did not register"
            time.sleep(0.2)
        partner = Partner.objects.get()
        assert len(_pull_then_wait_for_pushes(partner)) >= 5
        partner.refresh_from_db()
        assert partner.last_contact_at is not None
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_simulator_pushes_to_the_emsp_given_once_it_connects_the_way_the_readme_says(emsp):
    # `--push-rate R --push-to URL` alone: we register with it (ocpi_register), then it pushes.
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ocpi_simulate_cpo", "--port", "0", "--locations", "30", "--seed", "5",
         "--push-rate", "40", "--push-to", f"{emsp.url}/ocpi/versions"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        printed = []
        while not any(line.startswith("  pushes:") for line in printed):
            line = process.stdout.readline()
            assert line, "".join(printed)
            printed.append(line)
        assert printed[-1].strip() == f"pushes:       40/s, once the eMSP at {emsp.url}/ocpi/versions is connected"
        connect = next(line for line in printed if line.startswith("  connect with:"))
        versions_url, token_a = connect.split("ocpi_register", 1)[1].split()
        call_command("ocpi_register", versions_url, token_a, stdout=io.StringIO())
        assert len(_pull_then_wait_for_pushes(Partner.objects.get(status=Partner.Status.CONNECTED))) >= 5
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--locations", "-5"], "--locations must be 0 or more"),
        (["--push-rate", "-3"], "--push-rate must be 0 (no pushes) or more"),
        (["--page-limit", "0"], "--page-limit must be 1 or more"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
        (["--locations", "0", "--push-rate", "5"], "--push-rate needs a network to change"),
        (["--register-to", "http://127.0.0.1:9/ocpi/versions"], "--register-to needs --register-token"),
    ],
)
def test_the_simulator_says_what_is_wrong_with_its_arguments(arguments, said):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=said.replace("(", r"\(").replace(")", r"\)")):
        call_command("ocpi_simulate_cpo", *arguments, stdout=io.StringIO())


def test_the_simulator_says_when_its_port_is_taken():
    import socket

    from django.core.management.base import CommandError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}: Address already in use"):
            call_command("ocpi_simulate_cpo", "--port", str(port), "--locations", "1", stdout=io.StringIO())
