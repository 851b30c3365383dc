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


def test_a_workers_own_log_handlers_redact_tokens_as_the_web_processs_do():
    # A worker replaces Django's logging with its own handlers: they had no redaction filter, and
    # pulls, fetches and handshakes log from workers.
    import logging
    import logging.config

    from django.conf import settings

    from config.celery import app
    from roaming.ocpi.auth import encode_token

    token = encode_token("secret-token-value-xyz")
    try:
        app.log.already_setup = False
        app.log.setup_logging_subsystem(loglevel="INFO", logfile=None, colorize=False)
        handlers = [*logging.getLogger().handlers, *app.log.get_default_logger(name="celery.task").handlers]
        written = []
        for handler in handlers:
            record = logging.LogRecord("roaming.ocpi.client", logging.WARNING, __file__, 1, "sent Authorization: Token %s", (token,), None)
            assert handler.filter(record)
            written.append(record.getMessage())
    finally:
        logging.config.dictConfig(settings.LOGGING)
    assert handlers and all(line.startswith("sent Authorization: Token") and token not in line for line in written), written
