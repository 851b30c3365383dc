"""Shared fixtures: a real eMSP server (pytest-django's live_server), a real CPO simulator, a real
Celery worker and a real headless Chromium."""

from __future__ import annotations

import os
import shutil

import pytest

from roaming.simulator.server import CpoSimulator


@pytest.fixture(autouse=True)
def _fast_ocpi_client(settings):
    # Real HTTP, short clocks: a hanging partner must fail the test in about a second.
    settings.OCPI_HTTP_TIMEOUT = 1.0
    settings.OCPI_HTTP_RETRIES = 2
    settings.OCPI_HTTP_BACKOFF = 0.01


@pytest.fixture
def emsp(live_server, settings):
    """Our eMSP served over real HTTP, with OCPI_BASE_URL pointing at it."""
    settings.OCPI_BASE_URL = live_server.url
    return live_server


@pytest.fixture
def simulator():
    sim = CpoSimulator(name="Simulated CPO").start()
    yield sim
    sim.stop()


@pytest.fixture
def celery_worker_process(request, transactional_db, settings, tmp_path):
    """A real `celery worker` process on the configured broker, sharing the test database.

    `--pool=solo` unless the test asks for another (indirect parametrisation: "prefork" runs
    tasks in a forked child, as deployed).

    Embedded run: kombu's filesystem broker and the SpatiaLite test file under var/.
    CI's second run: Redis and the PostgreSQL test database.
    """
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    if "spatialite" in db["ENGINE"]:
        database_url = f"spatialite:///{db['NAME']}"
    else:
        database_url = f"postgis://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "OCPI_BASE_URL": settings.OCPI_BASE_URL, "OCPI_SYNC_WORKERS": "2"}
    pool = getattr(request, "param", "solo")
    # A queue of its own: another worker on this machine (the demo's) must not take our tasks.
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    root = Path(__file__).resolve().parent.parent
    # Its output goes to a file: a pipe nobody reads after start-up would block the worker once
    # its logs filled the pipe's buffer (64 KB), and a silent worker could not hang the wait.
    log = tmp_path / "celery-worker.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}", "--concurrency=1", "--loglevel=INFO", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "-Q", queue],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is not None:
        pytest.fail("the Celery worker exited:\n" + log.read_text())
    if "ready." not in log.read_text():
        process.kill()
        pytest.fail("the Celery worker did not start within 60 s:\n" + log.read_text())
    process.queue = queue  # type: ignore[attr-defined]
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (the project's set-up installs both), for
    one test module: Playwright's event loop and its driver process end with the module.

    Without it, browser tests are skipped with the reason on a developer's machine and fail in CI
    (CI=true), which must run everything it can.
    """
    if CHROMIUM is None:
        message = "no Chromium here: run scripts/setup.sh as root (Debian package chromium) or set CHROMIUM=/path"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
        # calls from a thread with a running loop; the test's own ORM calls are plain sync code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser tab (its own cookies) on our live server. Nothing leaves loopback: any other
    host (map tiles) is refused at once, as on a machine without internet."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.route(
        lambda url: not url.startswith(live_server.url),
        lambda route: route.abort(),
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
