"""Run the CPO simulator in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser

from roaming.simulator.server import CpoSimulator, SimulatorError

# How often the push loop says how it went, and how far behind its schedule it may fall before it
# stops catching up (an eMSP that was down is not then flooded with the backlog).
REPORT_EVERY_SECONDS = 10.0
MAX_BACKLOG_SECONDS = 2.0


class Command(BaseCommand):
    help = "A CPO on loopback that speaks OCPI 2.2.1 over real HTTP (versions, credentials, locations, tariffs, pushes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765, help="Port to listen on (default 8765; 0: any free port)")
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (loopback by default)")
        parser.add_argument("--locations", type=int, default=100, help="How many locations the network has (0: none)")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same network")
        parser.add_argument("--token-a", default=None, help="The registration token to accept (default: random, printed)")
        parser.add_argument("--page-limit", type=int, default=500, help="Largest page the Sender serves (X-Limit)")
        parser.add_argument(
            "--push-rate", type=float, default=0.0,
            help="EVSE status PATCHes per second to the eMSP, once it is connected (either side may start the handshake)",
        )  # fmt: skip
        parser.add_argument(
            "--push-to", default=None,
            help="The eMSP's versions URL: pushes go to it once it is connected. With --register-token we register"
            " with it; without, it registers with us (ocpi_register, as printed)",
        )  # fmt: skip
        parser.add_argument("--register-to", default=None, help="An eMSP versions URL to register with (Sender side)")
        parser.add_argument("--register-token", default=None, help="The token A the eMSP issued (ocpi_issue_token)")
        parser.add_argument("--country-code", default="DE")
        parser.add_argument("--party-id", default="SIM")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["locations"] < 0:
            raise CommandError("--locations must be 0 or more.")
        if opts["push_rate"] < 0:
            raise CommandError("--push-rate must be 0 (no pushes) or more.")
        if opts["page_limit"] < 1:
            raise CommandError("--page-limit must be 1 or more.")
        if not 0 <= opts["port"] <= 65535:
            raise CommandError("--port must be between 0 and 65535.")
        register_to = opts["register_to"] or (opts["push_to"] if opts["register_token"] else None)
        if opts["register_to"] and not opts["register_token"]:
            raise CommandError("--register-to needs --register-token (from ocpi_issue_token on the eMSP).")
        if opts["push_rate"] > 0 and opts["locations"] == 0:
            raise CommandError("--push-rate needs a network to change (--locations 1 or more).")
        network = None
        if opts["locations"] > 0:
            from roaming.simulator.network import build_network

            started = time.monotonic()
            network = build_network(
                locations=opts["locations"], seed=opts["seed"], country_code=opts["country_code"], party_id=opts["party_id"]
            )
            self.stdout.write(
                f"Network: {len(network.locations)} locations, {len(network.tariffs)} tariffs "
                f"(seed {opts['seed']}, built in {time.monotonic() - started:.1f}s)"
            )
        try:
            simulator = CpoSimulator(
                host=opts["host"],
                port=opts["port"],
                network=network,
                token_a=opts["token_a"],
                country_code=opts["country_code"],
                party_id=opts["party_id"],
                page_limit=opts["page_limit"],
            ).start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {opts['host']}:{opts['port']}: {error.strerror or error}.") from error
        self.stdout.write(self.style.SUCCESS(f"CPO simulator listening on {simulator.base_url}"))
        self.stdout.write(f"  versions URL: {simulator.versions_url}")
        if register_to:
            try:
                simulator.register_with(register_to, opts["register_token"])
            except (SimulatorError, Exception) as error:
                simulator.stop()
                raise CommandError(f"Registration with the eMSP at {register_to} failed: {error}") from error
            self.stdout.write(self.style.SUCCESS(f"Registered with the eMSP at {register_to}"))
        else:
            self.stdout.write(f"  token A:      {simulator.token_a}")
            self.stdout.write(f"  connect with: python manage.py ocpi_register {simulator.versions_url} {simulator.token_a}")
        stop = threading.Event()
        if opts["push_rate"] > 0:
            if not simulator.emsp:
                where = f"the eMSP at {opts['push_to']}" if opts["push_to"] else "an eMSP"
                self.stdout.write(f"  pushes:       {opts['push_rate']:g}/s, once {where} is connected")
            pusher = threading.Thread(
                target=self._push_loop, args=(simulator, network, opts["push_rate"], opts["push_to"], stop), daemon=True
            )
            pusher.start()
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            stop.set()
            simulator.stop()
            self.stdout.write("Simulator stopped.")

    def _push_loop(  # type: ignore[no-untyped-def]
        self, simulator: CpoSimulator, network, rate: float, push_to: str | None, stop: threading.Event
    ) -> None:
        """PATCH one EVSE status change every 1/`rate` s on a fixed schedule, over one connection,
        to the connected eMSP (the one at `push_to`, if given); every REPORT_EVERY_SECONDS, how it went."""
        interval = 1.0 / rate
        outcomes: Counter[str] = Counter()
        seed = 0
        told_of: str | None = None
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                if not self._connected(simulator, push_to):
                    elsewhere = simulator.emsp.get("versions_url")
                    if elsewhere and elsewhere != told_of:  # connected, but not to the eMSP asked for
                        self.stderr.write(f"Connected to the eMSP at {elsewhere}, not at --push-to {push_to}: not pushing.")
                        told_of = elsewhere
                    stop.wait(0.5)
                    continue
                self.stdout.write(f"Pushing {rate:g} status changes a second to the eMSP at {simulator.emsp['versions_url']}")
                due = reported = time.monotonic()
                while not stop.is_set() and self._connected(simulator, push_to):
                    now = time.monotonic()
                    if now < due:
                        stop.wait(due - now)
                        continue
                    # Every change due now in one go (one change of the network, then its PATCHes):
                    # a loop that fell behind its schedule catches up, by at most MAX_BACKLOG_SECONDS.
                    behind = max(now - MAX_BACKLOG_SECONDS, due)
                    count = 1 + int((now - behind) / interval)
                    due = behind + count * interval
                    seed += 1
                    at = dt.datetime.now(dt.UTC)
                    changes = network.change_statuses(min(1.0, count / max(1, network.evse_count)), at=at, rng_seed=seed)
                    try:
                        outcomes.update(str(status) for status in simulator.push_status_changes(changes[:count], client=http))
                    except Exception as error:  # noqa: BLE001 - a push loop must survive the eMSP restarting
                        outcomes[type(error).__name__] += 1
                    if now - reported >= REPORT_EVERY_SECONDS:
                        self._report(outcomes, now - reported)
                        outcomes.clear()
                        reported = now

    @staticmethod
    def _connected(simulator: CpoSimulator, push_to: str | None) -> bool:
        emsp = simulator.emsp
        return bool(emsp) and (push_to is None or emsp.get("versions_url", "").rstrip("/") == push_to.rstrip("/"))

    def _report(self, outcomes: Counter[str], seconds: float) -> None:
        sent = sum(outcomes.values())
        accepted = sum(count for outcome, count in outcomes.items() if outcome.startswith("2"))
        line = f"pushed {sent} status changes in {seconds:.0f} s ({sent / seconds:.1f}/s), {accepted} accepted"
        refused = ", ".join(f"{count} × {outcome}" for outcome, count in sorted(outcomes.items()) if not outcome.startswith("2"))
        if refused:
            self.stderr.write(f"{line}; not accepted: {refused} (see the eMSP's log)")
        else:
            self.stdout.write(line)
