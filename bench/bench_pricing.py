#!/usr/bin/env python3
"""Tariff engine throughput: price N CDR-like profiles on one core, print profiles/second.

Usage: .venv/bin/python bench/bench_pricing.py [--profiles 100000] [--seed 2211] [--cprofile]

The profiles are generated deterministically from the seed before the clock starts: a tariff
drawn from the OCPI 2.2.1-d2 examples (tariff_*.json, tariffrestriction_*.json), a start
anywhere in 2019 (so DST changes occur) in one of a few European zones, 1–20 periods of
1–90 minutes each — charging with energy, power and current figures, then parking at the end
for about a third of them, and a reservation in front for the reservation tariffs. The timed
loop is `price_session` for every profile, nothing else. Tariff validity windows are not
enforced (`check_validity=False`) so tariff_6 (valid until 2019-06-30) is priced all year.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from roaming.pricing.engine import price_session  # noqa: E402
from roaming.pricing.parse import load_json, parse_tariff  # noqa: E402
from roaming.pricing.types import ChargingPeriod, ChargingProfile, PeriodState, Tariff  # noqa: E402

EXAMPLES = Path("/work/shared/ocpi-examples/2.2.1-d2/examples")
ZONES = ("Europe/Berlin", "Europe/Amsterdam", "Europe/London", "Europe/Paris")


def load_tariffs() -> list[Tariff]:
    paths = sorted(EXAMPLES.glob("tariff_*.json")) + sorted(EXAMPLES.glob("tariffrestriction_*.json"))
    return [parse_tariff(load_json(path.read_text())) for path in paths]


def make_profile(rng: random.Random, tariff: Tariff) -> ChargingProfile:
    start = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86400))
    has_reservation = any(element.restrictions is not None and element.restrictions.reservation is not None
                          for element in tariff.elements)
    count = rng.randint(1, 20)
    periods = []
    at = start
    if has_reservation and rng.random() < 0.5:
        periods.append(ChargingPeriod(start=at, state=PeriodState.RESERVATION))
        at += timedelta(seconds=rng.randint(60, 1800))
    parking_from = count - rng.randint(1, 3) if rng.random() < 0.35 and count > 1 else count
    for index in range(count):
        seconds = rng.randint(60, 90 * 60)
        if index < parking_from:
            power = Decimal(rng.choice((4, 7, 11, 22, 50, 150)))
            energy = (power * seconds / 3600 * Decimal(rng.randint(50, 100)) / 100).quantize(Decimal("0.001"))
            periods.append(ChargingPeriod(start=at, state=PeriodState.CHARGING, energy_kwh=energy,
                                          max_power_kw=power, max_current_a=power * 1000 / 230))
        else:
            periods.append(ChargingPeriod(start=at, state=PeriodState.PARKING))
        at += timedelta(seconds=seconds)
    return ChargingProfile(time_zone=rng.choice(ZONES), periods=tuple(periods), end=at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2211)
    parser.add_argument("--cprofile", action="store_true", help="print the top 25 functions by own time")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    tariffs = load_tariffs()
    built = time.perf_counter()
    work = []
    for _ in range(args.profiles):
        tariff = rng.choice(tariffs)
        work.append((tariff, make_profile(rng, tariff)))
    periods = sum(len(profile.periods) for _, profile in work)
    print(f"generated {len(work):,} profiles ({periods:,} periods, {len(tariffs)} tariffs) "
          f"in {time.perf_counter() - built:.1f} s")

    profiler = cProfile.Profile() if args.cprofile else None
    checksum = Decimal(0)
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for tariff, profile in work:
        checksum += price_session(tariff, profile, check_validity=False).cpo.exact_total.excl_vat
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"priced {len(work):,} profiles in {elapsed:.2f} s: {len(work) / elapsed:,.0f} profiles/s "
          f"({periods / elapsed:,.0f} periods/s), checksum {checksum:.2f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
