#!/usr/bin/env python3
"""Pushed EVSE status PATCHes through gunicorn on PostgreSQL, at a fixed rate, checked afterwards.

Usage: .venv/bin/python bench/bench_push.py [--locations 2000] [--evses 3] [--rate 400]
                                             [--seconds 30] [--connections 16] [--workers 2]

Target (the issue): >= 300 PATCH/s sustained, p99 <= 100 ms, zero errors, every final status
right in the database.

Steps: a fresh PostgreSQL/PostGIS database (127.0.0.1:5432, user postgres, trust — as on the CI
machine), migrated; a partner with a known token and N locations x E EVSEs stored through
`store_locations` (the pull path's bulk writer); `gunicorn config.wsgi -w 2` on loopback with
DJANGO_DEBUG=false and LOG_LEVEL=WARNING; then a separate load process sends
`PATCH /ocpi/2.2.1/locations/{cc}/{party}/{location}/{evse}` with random statuses on random EVSEs
at a fixed schedule (open loop: request i is due at start + i/rate, whatever the server does)
over several keep-alive connections, with strictly increasing `last_updated`. Afterwards every
patched EVSE's status must equal its newest PATCH, and every location's available count must
match its EVSEs. gunicorn is stopped and the database dropped at the end, also on failure.

Latency is reported twice: from the moment the request was sent, and from the moment it was
due (which also counts any wait for a free connection, i.e. the client falling behind).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "emsp_bench_push"
DATABASE_URL = f"postgis://postgres@127.0.0.1:5432/{DATABASE}"
TOKEN = "bench-push-token-0123456789"
COUNTRY, PARTY = "DE", "BEN"
STATUSES = ["AVAILABLE", "CHARGING", "BLOCKED", "OUTOFORDER", "RESERVED", "INOPERATIVE", "UNKNOWN"]


def _psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc", sql], check=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# Child: seed -----------------------------------------------------------------------------------


def _location(index: int, evses: int, rng: random.Random) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00Z"
    return {
        "country_code": COUNTRY,
        "party_id": PARTY,
        "id": f"LOC{index:06d}",
        "publish": True,
        "name": f"Bench site {index}",
        "address": f"Benchstrasse {index}",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": f"{52 + rng.random():.6f}", "longitude": f"{13 + rng.random():.6f}"},
        "time_zone": "Europe/Berlin",
        "evses": [
            {
                "uid": f"LOC{index:06d}-{number}",
                "evse_id": f"DE*BEN*E{index:06d}{number}",
                "status": "AVAILABLE",
                "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "tariff_ids": ["AC"],
                        "last_updated": stamp,
                    }
                ],
                "last_updated": stamp,
            }
            for number in range(1, evses + 1)
        ],
        "last_updated": stamp,
    }


def seed(locations: int, evses: int) -> None:
    _django()
    from roaming.models import Partner, hash_token
    from roaming.ocpi.v221.locations import Location as WireLocation
    from roaming.services.network import store_locations

    partner = Partner.objects.create(name="Bench CPO", status=Partner.Status.CONNECTED, version="2.2.1")
    partner.inbound_token_hash = hash_token(TOKEN)
    partner.save()
    partner.replace_roles([dict(role="CPO", country_code=COUNTRY, party_id=PARTY, business_name="Bench CPO")])
    rng = random.Random(1)
    wire = [WireLocation.model_validate(_location(i, evses, rng)) for i in range(locations)]
    for start in range(0, len(wire), 500):
        store_locations(partner=partner, locations=wire[start : start + 500])


# Child: load -----------------------------------------------------------------------------------


async def _load(
    base_url: str, rate: float, seconds: float, connections: int, targets: list[str], out: Path
) -> None:
    total = int(rate * seconds)
    rng = random.Random(7)
    headers = {
        "Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode(),
        "Content-Type": "application/json",
    }
    # Strictly increasing last_updated in send order (1 ms apart), so "the newest PATCH" is
    # well defined even when two for one EVSE are in flight at once.
    origin = dt.datetime.now(dt.UTC).replace(microsecond=0)
    plan = []
    for i in range(total):
        stamp = (origin + dt.timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        plan.append((rng.choice(targets), rng.choice(STATUSES), stamp))
    sent_latency: list[float] = []
    due_latency: list[float] = []
    errors: list[str] = []
    sent: set[int] = set()
    slots = asyncio.Semaphore(connections)
    # Bounded time: when the server cannot keep up, requests that would start later than this
    # are not sent (counted as "not sent"), so a slow run ends instead of queueing for minutes.
    deadline = time.perf_counter() + 2 * seconds + 10
    # A lean HTTP/1.1 client on asyncio streams: the load generator shares the machine's two
    # CPUs with gunicorn and PostgreSQL, and httpx spent ~1.8 ms of CPU per request (gunicorn's
    # sync workers close every connection, so each PATCH is a new connection either way).
    target = urlsplit(base_url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    head = (
        "PATCH {path} HTTP/1.1\r\nHost: " + f"{host}:{port}" + "\r\nAuthorization: " + headers["Authorization"]
        + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n"
    )

    async def patch(path: str, body: bytes) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(head.format(path=path, length=len(body)).encode() + body)
            response = await asyncio.wait_for(reader.read(), timeout=10.0)
        finally:
            writer.close()
        status_line, _, rest = response.partition(b"\r\n")
        return int(status_line.split(b" ", 2)[1]), rest.partition(b"\r\n\r\n")[2]

    async def one(index: int, path: str, status: str, stamp: str, due: float) -> None:
        async with slots:
            if time.perf_counter() > deadline:
                return
            sent.add(index)
            start = time.perf_counter()
            try:
                code, body = await patch(path, json.dumps({"status": status, "last_updated": stamp}).encode())
                if code != 200 or json.loads(body).get("status_code") != 1000:
                    errors.append(f"{code} {body[:200]!r}")
            except (OSError, TimeoutError, ValueError) as error:
                errors.append(f"{type(error).__name__}: {error}")
            done = time.perf_counter()
            sent_latency.append(done - start)
            due_latency.append(done - due)

    tasks = []
    started = time.perf_counter()
    for i, (path, status, stamp) in enumerate(plan):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, path, status, stamp, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    final: dict[str, str] = {}
    for index, (path, status, _) in enumerate(plan):  # plan order = last_updated order
        if index in sent:
            final[path] = status
    out.write_text(
        json.dumps(
            {
                "planned": total,
                "sent": len(sent),
                "errors": errors,
                "elapsed": elapsed,
                "sent_latency": sent_latency,
                "due_latency": due_latency,
                "final": final,
                "cpu_seconds": _own_cpu(),
            }
        )
    )


def _own_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _targets(locations: int, evses: int) -> list[str]:
    return [
        f"/ocpi/2.2.1/locations/{COUNTRY}/{PARTY}/LOC{i:06d}/LOC{i:06d}-{n}"
        for i in range(locations)
        for n in range(1, evses + 1)
    ]


def load(args: argparse.Namespace) -> None:
    targets = _targets(args.locations, args.evses)
    runner = asyncio.run
    if args.loop == "uvloop":
        # libuv's event loop: a third less CPU per request than asyncio's own, and the load
        # generator shares the machine's two CPUs with the server it measures.
        import uvloop

        runner = uvloop.run
    runner(_load(args.url, args.rate, args.seconds, args.connections, targets, Path(args.out)))


def _warm_up(url: str, targets: list[str], count: int = 400) -> None:
    """Each worker's first requests import views and build validators (~1 s of CPU): not measured.

    The warm-up statuses carry a last_updated older than any of the run's, so they never win.
    """
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    headers = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    body = json.dumps({"status": "UNKNOWN", "last_updated": "2026-01-01T00:00:01Z"})
    rng = random.Random(3)
    paths = [rng.choice(targets) for _ in range(count)]
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda path: client.patch(path, content=body).status_code, paths))
    if set(codes) != {200}:
        raise SystemExit(f"warm-up PATCHes answered {sorted(set(codes))}")


# Child: check ----------------------------------------------------------------------------------


def check(results: Path) -> None:
    _django()
    from collections import Counter

    from roaming.models import EVSE, Location

    final: dict[str, str] = json.loads(results.read_text())["final"]
    held = {
        f"/ocpi/2.2.1/locations/{COUNTRY}/{PARTY}/{ocpi_id}/{uid}": status
        for ocpi_id, uid, status in EVSE.objects.values_list("location__ocpi_id", "uid", "status")
    }
    wrong = [path for path, status in final.items() if held.get(path) != status]
    available = Counter(EVSE.objects.filter(status="AVAILABLE").values_list("location_id", flat=True))
    summaries = [
        pk
        for pk, count in Location.objects.values_list("pk", "available_evse_count")
        if available.get(pk, 0) != count
    ]
    print(
        json.dumps(
            {
                "checked": len(final),
                "wrong": wrong[:10],
                "wrong_count": len(wrong),
                "bad_summaries": len(summaries),
            }
        )
    )


# Orchestration ---------------------------------------------------------------------------------


def _child(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, __file__, *argv], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    headers = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited at start")
        try:
            if httpx.get(url + "/ocpi/versions", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def _ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _machine_busy_ticks() -> int:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in cpu[:8])
    return user + nice + system + irq + softirq + steal


def _backends() -> list[int]:
    """PostgreSQL backends serving the benchmark database (their process titles name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {DATABASE} ".encode() in title:
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU used by the gunicorn workers, the PostgreSQL backends and the whole machine, over a span.

    Backends come and go (CONN_MAX_AGE closes a worker's connection after 60 s and the next
    request opens another), so a thread samples them twice a second and keeps each one's last
    reading; a backend's first reading is its whole life, as all of it falls within the run
    apart from the warm-up's few requests.
    """

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.server = server
        self.tick = os.sysconf("SC_CLK_TCK")
        self.backends: dict[int, int] = {}
        self.done = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def _workers(self) -> list[int]:
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def _sample(self) -> None:
        while True:
            for pid in _backends():
                ticks = _ticks(pid)
                if ticks:
                    self.backends[pid] = ticks
            if self.done.wait(0.5):
                return

    def start(self) -> None:
        self.workers = {pid: _ticks(pid) for pid in self._workers()}
        self.warm = {pid: _ticks(pid) for pid in _backends()}
        self.machine = _machine_busy_ticks()
        self.sampler.start()

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.sampler.join()
        workers = sum(_ticks(pid) - before for pid, before in self.workers.items())
        postgres = sum(ticks - self.warm.get(pid, 0) for pid, ticks in self.backends.items())
        machine = _machine_busy_ticks() - self.machine
        return {
            "workers": workers / self.tick,
            "postgres": postgres / self.tick,
            "machine": machine / self.tick,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=2000)
    parser.add_argument("--evses", type=int, default=3)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (>1: the gthread worker class)"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="the load generator's event loop"
    )
    args = parser.parse_args()
    args.port = args.port or _free_port()

    url = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "OCPI_BASE_URL": url,
    }
    server: subprocess.Popen[bytes] | None = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        _psql(f"DROP DATABASE IF EXISTS {DATABASE}")
        _psql(f"CREATE DATABASE {DATABASE}")
        _psql("CREATE EXTENSION postgis", DATABASE)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        started = time.perf_counter()
        _child(env, "seed", str(args.locations), str(args.evses))
        # A freshly bulk-loaded database has no planner statistics yet (autovacuum would gather
        # them within a minute); without them PostgreSQL joins connectors by a sequential scan.
        _psql("ANALYZE", DATABASE)
        print(
            f"seeded {args.locations} locations x {args.evses} EVSEs in {time.perf_counter() - started:.1f}s"
        )

        command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(args.workers)]
        if args.threads > 1:
            command += ["--threads", str(args.threads)]
        command += ["-b", f"127.0.0.1:{args.port}", "--log-level", "warning"]
        server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)  # own process group
        _wait_until_up(url, server)
        _warm_up(url, _targets(args.locations, args.evses))

        results = workdir / "results.json"
        meter = CpuMeter(server)
        meter.start()
        _child(
            env,
            "load",
            "--url",
            url,
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--connections",
            str(args.connections),
            "--locations",
            str(args.locations),
            "--evses",
            str(args.evses),
            "--out",
            str(results),
            "--loop",
            args.loop,
        )
        cpu = meter.stop()
        outcome = json.loads(results.read_text())
        verdict = json.loads(_child(env, "check", str(results)).strip().splitlines()[-1])

        sent, errors, elapsed = outcome["sent"], outcome["errors"], outcome["elapsed"]
        rate = (sent - len(errors)) / elapsed
        workers = f"-w {args.workers}" + (f" --threads {args.threads}" if args.threads > 1 else "")
        print(
            f"\nPATCH /locations/.../{{evse_uid}} via gunicorn {workers}, PostgreSQL, "
            f"target {args.rate:.0f}/s for {args.seconds:.0f}s over {args.connections} connections, "
            f"{os.cpu_count()} CPUs, load generator on {args.loop}"
        )
        print(f"  sent:            {sent} of {outcome['planned']} planned (the rest: past the time bound)")
        print(f"  errors:          {len(errors)}" + (f"   first: {errors[0]}" if errors else ""))
        print(f"  completed:       {rate:.1f}/s  ({sent - len(errors)} in {elapsed:.1f}s, up to the last response)")
        for label, key in (("latency (sent)", "sent_latency"), ("latency (due)", "due_latency")):
            values = outcome[key]
            print(
                f"  {label:15}  p50 {_percentile(values, 0.50):6.1f} ms   p95 {_percentile(values, 0.95):6.1f} ms"
                f"   p99 {_percentile(values, 0.99):6.1f} ms   max {max(values) * 1000:6.1f} ms"
            )
        ours = cpu["workers"] + cpu["postgres"] + outcome["cpu_seconds"]
        print(
            f"  CPU per PATCH:   gunicorn {cpu['workers'] / sent * 1000:.2f} ms, PostgreSQL "
            f"{cpu['postgres'] / sent * 1000:.2f} ms, load generator {outcome['cpu_seconds'] / sent * 1000:.2f} ms; "
            f"other processes on the machine used {max(0.0, cpu['machine'] - ours):.1f} CPU-s during the run"
        )
        db_ok = verdict["wrong_count"] == 0 and verdict["bad_summaries"] == 0
        print(
            f"  DB check:        {'OK' if db_ok else 'FAILED'}: {verdict['checked']} EVSEs patched, "
            f"{verdict['wrong_count']} wrong final statuses, {verdict['bad_summaries']} wrong available counts"
        )
        p99 = _percentile(outcome["due_latency"], 0.99)
        # Sustained: the server kept up with the offered rate, i.e. every request was sent on
        # schedule and answered in time (p99 from its due time), none failed, the DB is right.
        kept_up = sent == outcome["planned"] and not errors and p99 <= 100
        print(f"  kept up with {args.rate:.0f}/s offered: {'yes' if kept_up else 'no'} (p99 from due time {p99:.1f} ms)")
        met = args.rate >= 300 and kept_up and db_ok
        print(
            f"  target (>= 300/s sustained, p99 <= 100 ms from due time, 0 errors, DB right): {'MET' if met else 'MISSED'}"
        )
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        _psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        for path in workdir.glob("*"):
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "seed":
        seed(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "check":
        check(Path(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "load":
        load_parser = argparse.ArgumentParser()
        for name, kind in (
            ("url", str),
            ("rate", float),
            ("seconds", float),
            ("connections", int),
            ("locations", int),
            ("evses", int),
            ("out", str),
            ("loop", str),
        ):
            load_parser.add_argument(f"--{name}", type=kind, required=True)
        load(load_parser.parse_args(sys.argv[2:]))
    else:
        main()
