#!/usr/bin/env python3
"""Full and incremental pull of a national network from the CPO simulator, timed.

Usage: .venv/bin/python bench/bench_sync.py [--locations 50000] [--db spatialite,postgis] [--cprofile]

For each database: a fresh database, the simulator (in this process, real HTTP on loopback)
with N locations, then in a separate process (so its peak RSS is its own):
  1. the floor: fetch and JSON-parse every page through our OCPI client, store nothing;
  2. a full pull (ocpi_sync --full);
  3. an incremental pull after 1% of EVSEs changed status.
Prints wall times, the full/floor ratio, the incremental/full ratio, peak RSS, and the CPU seconds
of each party (syncing process, its page workers, the PostgreSQL server process, the simulator):
the machine has two cores, so their sum over two is what a pull cannot go below.
PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust), as on the CI machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import os, sys, time, json
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from roaming.models import Partner
# Imported before the clock starts, as in a running worker: the code's import is not the pull.
from roaming.ocpi.client import OcpiClient, iterate_pages
from roaming.ocpi.v221.feeds import cyclic_gc_paused
from roaming.services.sync import sync_module
from django.db import connection
mode = sys.argv[1]
partner = Partner.objects.get()
# CPU seconds, to say where the time goes: this process (the fetch thread and the writes, SQLite's
# included), its page workers, and the PostgreSQL server process serving its connection.
server_pid = None
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        server_pid = cursor.fetchone()[0]
def server_cpu():
    if server_pid is None:
        return 0.0
    fields = open(f"/proc/{server_pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
# As our Celery worker does once started (config.celery): start-up's objects out of the cyclic
# collector's sight, or its first full collection (~60 ms) lands in the measured pull.
from config.celery import freeze_startup_objects
freeze_startup_objects()
import resource
own_before, server_before = resource.getrusage(resource.RUSAGE_SELF), server_cpu()
started = time.perf_counter()
if mode == "floor":
    url = partner.endpoint_url("locations", "SENDER")
    count = 0
    # With the cyclic GC paused, as the sync runs (see feeds.cyclic_gc_paused): with it running,
    # the collections triggered by each parsed page doubled the floor and flattered the ratio.
    with OcpiClient(partner.outbound_token) as client, cyclic_gc_paused():
        for page in iterate_pages(client, url, params={"limit": 1000}):
            count += len(page.data)
    objects = count
else:
    profile = os.environ.get("BENCH_CPROFILE") == "1" and mode == "full"
    if profile:
        import cProfile, pstats
        profiler = cProfile.Profile()
        profiler.enable()
    run = sync_module(partner=partner, module="locations", full=(mode == "full"))
    objects = run.objects_stored
    if profile:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
elapsed = time.perf_counter() - started
own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = {
    "main": own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime,
    "workers": workers.ru_utime + workers.ru_stime,
    "database": server_cpu() - server_before,
    # System time and minor page faults: memory the allocator handed back and took again.
    "main_sys": own.ru_stime - own_before.ru_stime,
    "workers_sys": workers.ru_stime,
    "main_faults": own.ru_minflt - own_before.ru_minflt,
    "workers_faults": workers.ru_minflt,
}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec, so a child would report its parent's peak.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
# The page workers this process forked (reaped by now): the largest one's peak, pages shared with
# this process included (copy-on-write), so main + workers over-counts.
worker_kb = workers.ru_maxrss
print(json.dumps({"cpu": cpu, "seconds": elapsed, "objects": objects, "rss_mb": peak_kb / 1024, "worker_rss_mb": worker_kb / 1024}))
"""


def run_child(mode: str, env: dict[str, str]) -> dict:
    before = os.times()
    output = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, cwd=ROOT, capture_output=True, text=True)
    if output.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{output.stderr[-3000:]}")
    if env.get("BENCH_CPROFILE") == "1" and mode == "full":
        print(output.stderr)
    import json

    result = json.loads(output.stdout.strip().splitlines()[-1])
    after = os.times()  # this process's own: the simulator serving the pages
    result["cpu"]["simulator"] = after.user + after.system - before.user - before.system
    return result


def fresh_database(kind: str) -> str:
    if kind == "spatialite":
        path = ROOT / "var" / "bench" / "sync.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return f"spatialite:///{path}"
    for sql in ("DROP DATABASE IF EXISTS emsp_bench_sync", "CREATE DATABASE emsp_bench_sync"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "emsp_bench_sync", "-qc", "CREATE EXTENSION postgis"], check=True
    )
    return "postgis://postgres@127.0.0.1:5432/emsp_bench_sync"


def migrate_with_partner(env: dict[str, str], fields: str = "", then: str = "") -> None:
    """Migrate the database of `env` and create the connected partner "Bench CPO" (token
    bench-token) with `fields` (keyword arguments, as Python text), then run `then` on it (`p`).
    In child processes: writes measured right after an in-process migrate cost ~1.5x."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    setup = (
        "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','config.settings');django.setup();"
        "from roaming.models import Partner;"
        "p=Partner.objects.create(name='Bench CPO',status='CONNECTED',version='2.2.1',outbound_token='bench-token'"
        + (f",{fields}" if fields else "")
        + ");"
        + then
    )
    subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=50_000)
    parser.add_argument("--db", default="spatialite,postgis")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true", help="profile the full pull and print where its time goes")
    args = parser.parse_args()
    if args.cprofile:
        os.environ["BENCH_CPROFILE"] = "1"

    from roaming.simulator.network import build_network
    from roaming.simulator.server import CpoSimulator

    started = time.perf_counter()
    network = build_network(locations=args.locations, seed=args.seed)
    evses = sum(len(loc["evses"]) for loc in network.locations)
    print(f"network: {args.locations} locations, {evses} EVSEs, built in {time.perf_counter() - started:.1f}s")
    # The CPO's own JSON encoding is not ours to measure: pre-serialise every object, or the
    # first run (the floor) would pay it and flatter the ratio.
    network.warm()
    simulator = CpoSimulator(network=network, page_limit=1000).start()
    simulator._inbound["bench-token"] = "C"

    for kind in args.db.split(","):
        database_url = fresh_database(kind)
        env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false"}
        migrate_with_partner(
            env,
            f"versions_url='{simulator.versions_url}'",
            f"p.replace_endpoints([dict(identifier='locations',role='SENDER',url='{simulator.base_url}/2.2.1/locations')]);"
            "p.replace_roles([dict(role='CPO',country_code='DE',party_id='SIM',business_name='Bench CPO')])",
        )

        floor = run_child("floor", env)
        full = run_child("full", env)
        network.change_statuses(0.01, at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2), rng_seed=42)
        network.warm()  # the changed objects' JSON, as for the floor: the CPO's encoding is not ours
        time.sleep(2)
        incremental = run_child("incremental", env)
        print(f"\n[{kind}] {args.locations} locations / {evses} EVSEs")
        print(f"  floor (fetch + JSON parse, store nothing): {floor['seconds']:7.1f} s   peak RSS {floor['rss_mb']:.0f} MB")
        print(
            f"  full pull:                                  {full['seconds']:7.1f} s   peak RSS {full['rss_mb']:.0f} MB"
            f" (+ page workers, each ≤ {full['worker_rss_mb']:.0f} MB)   stored {full['objects']}"
        )
        for label, run in (("floor", floor), ("full", full), ("incremental", incremental)):
            cpu = run["cpu"]
            database = f", database server {cpu['database']:.1f} s" if kind == "postgis" else " (SQLite's work included)"
            print(
                f"  CPU {label + ':':12s} syncing process {cpu['main']:5.1f} s, page workers {cpu['workers']:5.1f} s{database},"
                f" simulator {cpu['simulator']:.1f} s"
            )
            print(
                f"  {'':16s} of which system time {cpu['main_sys']:.1f} s / {cpu['workers_sys']:.1f} s,"
                f" minor page faults {cpu['main_faults'] / 1000:.0f}k / {cpu['workers_faults'] / 1000:.0f}k"
            )
        print(f"  ratio full / floor:                         {full['seconds'] / floor['seconds']:7.2f}")
        print(
            f"  incremental after 1% EVSE changes:          {incremental['seconds']:7.2f} s   "
            f"({100 * incremental['seconds'] / full['seconds']:.1f}% of full, stored {incremental['objects']})"
        )
    simulator.stop()


if __name__ == "__main__":
    main()
