#!/usr/bin/env python3
"""Where one sync page's CPU goes, stage by stage, against the floor.

Usage: .venv/bin/python bench/bench_page_budget.py [--locations 10000] [--seed 1] [--db spatialite,postgis]

The full/floor target (≤ 3) allows a page three times the floor's wall time. With two cores
that is at most 2 × 3 × floor of CPU for everything a page needs, the floor's own fetch and
parse included, and the database write, which one SQLite writer does alone, must itself fit
in 3 × floor. This script measures each stage on the same pages, one after the other in one
process (no contention, so each figure is the stage's own cost, a lower bound of what it costs
in a pull where both cores are busy):

1. the floor: fetch and JSON-parse each page through our OCPI client (wall per page), from the
   CPO simulator in another process over loopback HTTP, as in bench_sync.py;
2. decoding and validation (`decode_page`), row building (`prepare_locations`), the crossing
   from a page worker to the writer (pickling and unpickling the rows) and freeing the page;
3. the database write as the sync does it (`write_locations`) into a fresh database; on
   PostgreSQL also the CPU its server process spent on it;
4. SpatiaLite only: the plainest write of the very same rows into another fresh database: `executemany` of plain
   INSERTs with the ids known in advance (no upsert, no join by key, no sort), which no
   correct sync can undercut with this driver; and the same again with no index, no trigger and
   no raw JSON, which is not a schema we could keep but bounds what any schema could save.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sync import (  # this directory is on the path when run as a script
    fresh_database,
    migrate_with_partner,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIMULATOR = r"""
import sys
from roaming.simulator.network import build_network
from roaming.simulator.server import CpoSimulator
network = build_network(locations=int(sys.argv[1]), seed=int(sys.argv[2]))
network.warm()
simulator = CpoSimulator(network=network, page_limit=1000).start()
simulator._inbound["bench-token"] = "C"
print(simulator.base_url, flush=True)
sys.stdin.read()  # until the parent closes it
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def migrated_copy(template: Path, name: str) -> Path:
    path = template.with_name(name)
    shutil.copy(template, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default="spatialite,postgis")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure one database in this process
    args = parser.parse_args()
    if args.child:
        measure(args)
        return
    for kind in args.db.split(","):
        print(f"\n[{kind}]")
        subprocess.run([sys.executable, __file__, "--locations", str(args.locations), "--seed", str(args.seed), "--child", kind], check=True)


def measure(args: argparse.Namespace) -> None:
    """One database, in this process (Django is set up for it here)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    template = workdir / "template.sqlite3"
    database_url = f"spatialite:///{template}" if args.child == "spatialite" else fresh_database("postgis")
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false"}
    migrate_with_partner(env)
    plain = bare = None
    if args.child == "spatialite":
        ours, plain, bare = (migrated_copy(template, name) for name in ("ours.sqlite3", "plain.sqlite3", "bare.sqlite3"))
        database_url = f"spatialite:///{ours}"
    os.environ.update({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DJANGO_DEBUG": "false"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    simulator = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(args.locations), str(args.seed)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = simulator.stdout.readline().strip()  # type: ignore[union-attr]
        run(args, base_url, plain, bare)
    finally:
        simulator.terminate()
        simulator.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, base_url: str, plain: Path | None, bare: Path | None) -> None:
    import django

    django.setup()
    import gc

    from django.db import connection, transaction

    from config.celery import freeze_startup_objects
    from roaming.models import Partner
    from roaming.ocpi.client import OcpiClient, iterate_pages
    from roaming.ocpi.v221.feeds import cyclic_gc_paused, decode_page
    from roaming.services import bulk, network

    partner = Partner.objects.get()
    connection.close()  # a fresh connection for the writes (see the migrate note above)
    freeze_startup_objects()
    stages: dict[str, float] = {}

    def timed(name: str, work, *, wall: bool = False):  # noqa: ANN001, ANN202 - a local helper
        clock = time.perf_counter if wall else cpu_seconds
        started = clock()
        result = work()
        stages[name] = stages.get(name, 0.0) + clock() - started
        return result

    # The floor: the best of three passes over every page (one pass of ten pages is at the mercy
    # of the host's neighbours; the bench_sync floor is one pass of fifty).
    passes = []
    with OcpiClient("bench-token") as client, cyclic_gc_paused():
        for _ in range(3):
            started = time.perf_counter()
            bodies = [r.body_bytes for r in iterate_pages(client, f"{base_url}/2.2.1/locations", params={"limit": 1000})]
            passes.append(time.perf_counter() - started)
    stages["floor: fetch + JSON parse (wall)"] = min(passes)
    pages = len(bodies)

    encoder = bulk.encoder()
    prepared = []
    gc.disable()
    for body in bodies:
        page = timed("decode + validate", lambda body=body: decode_page(body, kind="locations"))
        own, sources = [d.obj for d in page.decoded], [d.source for d in page.decoded]
        rows = timed("rows", lambda own=own, sources=sources: network.prepare_locations(partner=partner, locations=own, sources=sources, encoder=encoder))
        blob = timed("pickle (worker)", lambda rows=rows: pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
        prepared.append(timed("unpickle (writer)", lambda blob=blob: pickle.loads(blob)))  # noqa: S301 - our own bytes
        held = [page, own, sources, rows]
        del page, own, sources, rows
        timed("free the page (worker)", held.clear)
    server = server_cpu_reader(connection)
    for batch in prepared:

        def write(batch=batch) -> None:  # noqa: ANN001 - a local helper
            with transaction.atomic():
                network.write_locations(batch)

        before = server()
        timed("write: ours", write)
        if connection.vendor == "postgresql":
            stages["write: ours, PostgreSQL server"] = stages.get("write: ours, PostgreSQL server", 0.0) + server() - before
    gc.enable()
    if plain is not None and bare is not None:
        timed("write: plain executemany", lambda: plainest_write(plain, prepared))
        timed("write: no index, trigger or raw", lambda: plainest_write(bare, prepared, bare=True))

    floor = stages.pop("floor: fetch + JSON parse (wall)") / pages
    print(f"{args.locations} locations in {pages} pages of 1,000; each stage alone, in ms a page:\n")
    print(f"  {'floor (fetch + parse, wall)':34s} {floor * 1000:7.1f}   1.00 floor")
    for name, seconds in stages.items():
        print(f"  {name:34s} {seconds / pages * 1000:7.1f}   {seconds / pages / floor:4.2f} floors")
    worker = sum(stages[n] for n in ("decode + validate", "rows", "pickle (worker)", "free the page (worker)")) / pages
    writer = (stages["unpickle (writer)"] + stages["write: ours"] + stages.get("write: ours, PostgreSQL server", 0.0)) / pages
    print(
        f"\nA ratio of 3 gives a page {3 * floor * 1000:.0f} ms of wall, {6 * floor * 1000:.0f} ms of CPU over two cores."
        f"\nMeasured alone: a page worker {worker * 1000:.0f} ms + the writer {writer * 1000:.0f} ms"
        f" = {(worker + writer) * 1000:.0f} ms of CPU (+ fetching; the writer's figure includes the database server's), so a pull of {pages} pages needs at least"
        f" {(worker + writer) / 2 * pages:.1f} s on two cores: {(worker + writer) / 2 / floor:.1f} floors."
    )


def server_cpu_reader(connection):  # noqa: ANN001, ANN201 - Django's connection; a callable
    """CPU seconds of the PostgreSQL server process serving `connection` (0 for SQLite)."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return cpu


def plainest_write(path: Path, prepared: list, *, bare: bool = False) -> None:  # noqa: C901 - linear
    """The prepared rows by `executemany` of plain INSERTs, ids assigned here: no upsert, no join by
    key, no sort. `bare`: first drop the tables' indexes and geometry triggers and write "{}" for
    the raw JSON, to bound what any schema could save."""
    import sqlite3

    from django.conf import settings

    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(settings.SPATIALITE_LIBRARY_PATH)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=10000")  # as config.settings
    db.execute("PRAGMA foreign_keys=ON")  # as Django's connections have it
    if bare:
        tables = ("roaming_location", "roaming_evse", "roaming_connector")
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN (?, ?, ?)", tables
        ).fetchall():
            kind = db.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
            db.execute(f'DROP {kind.upper()} "{name}"')
        db.execute("PRAGMA foreign_keys=OFF")
    location_id = evse_id = 0
    for page in prepared:
        db.execute("BEGIN")
        ids: dict[str, int] = {}
        for batch, table in ((page.locations, "roaming_location"), (page.evses, "roaming_evse"), (page.connectors, "roaming_connector")):
            width, params = batch._width, batch.params
            rows = [params[n * width : (n + 1) * width - 1] for n in range(batch.rows)]  # the row number left out
            marks = ["MakePoint(?, ?, 4326)" if f is not None and f.column == "point" else "?" for f in batch.fields]
            columns = batch.columns
            raw = batch._starts[batch.index("raw")] - 1 if "raw" in columns else None
            if table == "roaming_location":
                key = batch._starts[batch.index("key")] - 1
                for row in rows:
                    location_id += 1
                    ids[row[key]] = location_id
            elif table == "roaming_evse":
                uid = batch._starts[batch.index("uid_key")] - 1
                evses: dict[tuple[str, str], int] = {}
                for n, row in enumerate(rows):
                    evse_id += 1
                    evses[(row[0], row[uid])] = evse_id
                    rows[n] = [ids[row[0]], *row[1:]]
                columns, marks = ["location_id", *columns], marks  # the key's "?" stands for location_id
            else:
                rows = [[evses[(row[0], row[1])], *row[2:]] for row in rows]
                columns, marks = ["evse_id", *columns], marks[1:]  # two lookup values, one id
            if bare and raw is not None:
                for row in rows:
                    row[raw] = "{}"
            names = ", ".join(f'"{c}"' for c in columns)
            db.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(marks)})", rows)
        db.execute("COMMIT")
    db.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
