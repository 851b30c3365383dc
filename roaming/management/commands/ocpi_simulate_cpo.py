"""Run the CPO simulator in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError

from roaming.simulator.server import CpoSimulator, SimulatorError


class Command(BaseCommand):
    help = "A CPO on loopback that speaks OCPI 2.2.1 over real HTTP (versions, credentials, locations, tariffs, pushes)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (loopback by default)")
        parser.add_argument("--locations", type=int, default=100, help="How many locations the network has")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same network")
        parser.add_argument("--token-a", default=None, help="The registration token to accept (default: random, printed)")
        parser.add_argument("--page-limit", type=int, default=500, help="Largest page the Sender serves (X-Limit)")
        parser.add_argument("--register-to", default=None, help="An eMSP versions URL to register with (Sender side)")
        parser.add_argument("--register-token", default=None, help="The token A the eMSP issued (with --register-to)")
        parser.add_argument("--push-rate", type=float, default=0.0, help="EVSE status PATCHes per second to the eMSP")
        parser.add_argument("--push-to", default=None, help="Deprecated alias: the eMSP versions URL (uses --register-*)")
        parser.add_argument("--country-code", default="DE")
        parser.add_argument("--party-id", default="SIM")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
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
        simulator = CpoSimulator(
            host=opts["host"],
            port=opts["port"],
            network=network,
            token_a=opts["token_a"],
            country_code=opts["country_code"],
            party_id=opts["party_id"],
            page_limit=opts["page_limit"],
        ).start()
        self.stdout.write(self.style.SUCCESS(f"CPO simulator listening on {simulator.base_url}"))
        self.stdout.write(f"  versions URL: {simulator.versions_url}")
        self.stdout.write(f"  token A:      {simulator.token_a}")
        self.stdout.write(f"  connect with: python manage.py ocpi_register {simulator.versions_url} {simulator.token_a}")
        register_to = opts["register_to"] or opts["push_to"]
        if register_to:
            if not opts["register_token"]:
                raise CommandError("--register-to needs --register-token (from ocpi_issue_token)")
            try:
                simulator.register_with(register_to, opts["register_token"])
            except (SimulatorError, Exception) as error:
                raise CommandError(f"Registration with the eMSP failed: {error}") from error
            self.stdout.write(self.style.SUCCESS(f"Registered with the eMSP at {register_to}"))
        stop = threading.Event()
        if opts["push_rate"] > 0:
            if network is None or not simulator.emsp:
                raise CommandError("--push-rate needs a network and a registered eMSP (--register-to)")
            threading.Thread(target=self._push_loop, args=(simulator, network, opts["push_rate"], stop), daemon=True).start()
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            stop.set()
            simulator.stop()
            self.stdout.write("Simulator stopped.")

    def _push_loop(self, simulator: CpoSimulator, network, rate: float, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
        import datetime as dt

        interval = 1.0 / rate
        seed = 0
        while not stop.is_set():
            seed += 1
            changes = network.change_statuses(1 / max(1, network.evse_count), at=dt.datetime.now(dt.UTC), rng_seed=seed)
            try:
                simulator.push_status_changes(changes[:1])
            except Exception as error:  # a push loop must survive the eMSP restarting
                self.stderr.write(f"push failed: {error}")
            stop.wait(interval)
