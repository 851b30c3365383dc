"""Our Celery worker takes its start-up objects out of the cyclic collector's sight once started
(config.celery.freeze_startup_objects), so that no full collection of them lands in a task."""

from __future__ import annotations

import gc

from celery.signals import worker_process_init, worker_ready

from config.celery import freeze_startup_objects


def _receivers(signal) -> list:
    return [receiver() for _, receiver in signal.receivers]


def test_it_runs_in_each_prefork_child_and_in_the_workers_own_process():
    assert freeze_startup_objects in _receivers(worker_process_init)
    assert freeze_startup_objects in _receivers(worker_ready)


def test_after_it_the_collector_no_longer_scans_what_was_alive():
    hoard = [[n] for n in range(100_000)]  # long-lived containers, like Django's after start-up
    assert id(hoard[-1]) in {id(o) for o in gc.get_objects()}  # what every full collection walks
    try:
        frozen_before = gc.get_freeze_count()
        freeze_startup_objects()
        assert gc.get_freeze_count() >= frozen_before + len(hoard)
        assert id(hoard[-1]) not in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()
