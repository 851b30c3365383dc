import gc
import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("emsp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect  # each prefork child, right after the fork
@worker_ready.connect  # the worker's own process (solo and thread pools run tasks there)
def freeze_startup_objects(**kwargs: object) -> None:
    """Take everything alive once the worker has started (Django, our modules: ~90,000 objects)
    out of the cyclic collector's sight. Otherwise every full collection scans all of it again, in
    the middle of whatever task is running: ~60 ms each on this project's 2-core machine, a tenth
    of an incremental pull. It also keeps a prefork child from touching, and so copying, the pages it
    shares with its parent. Nothing is collected first: in a child that would write to every one
    of those pages; what garbage start-up left stays (a bounded, one-off amount)."""
    gc.freeze()


@after_setup_logger.connect
@after_setup_task_logger.connect
def redact_secrets_in_worker_logs(logger: logging.Logger, **kwargs: object) -> None:
    """A worker replaces Django's logging with its own handlers (worker_hijack_root_logger): they
    get the same filter as the web process's, or a token in a pull's or a handshake's message would
    be written as it is. Pulls, fetches and health checks all run in workers."""
    from roaming.ocpi.logging import RedactSecretsFilter

    for handler in logger.handlers:
        if not any(isinstance(existing, RedactSecretsFilter) for existing in handler.filters):
            handler.addFilter(RedactSecretsFilter())

