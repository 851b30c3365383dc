import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

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
