"""Thin Celery tasks (STYLE §7): ids in, one service call, the retry policy, time limits."""

from __future__ import annotations

import datetime as dt
import logging
import random

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from roaming.models import Partner, SyncRun
from roaming.services import credentials

logger = logging.getLogger(__name__)

ALREADY_RUNNING_RETRY_SECONDS = 60


@shared_task(soft_time_limit=60, time_limit=90, acks_late=True)
def check_partner_health(partner_id: int) -> str:
    """Re-read a partner's versions and endpoints; records contact or the error on the partner."""
    partner = Partner.objects.filter(pk=partner_id, status=Partner.Status.CONNECTED).first()
    if partner is None:
        return "skipped: not connected"
    try:
        credentials.refresh_versions(partner=partner)
    except credentials.RegistrationError as error:
        return f"failed: {error.message}"
    return "ok"


@shared_task(soft_time_limit=30, time_limit=60)
def check_all_partners() -> int:
    ids = list(Partner.objects.filter(status=Partner.Status.CONNECTED).values_list("pk", flat=True))
    for partner_id in ids:
        check_partner_health.delay(partner_id)
    return len(ids)


def retry_countdown(retries: int, retry_after: float | None) -> float:
    """Seconds before a failed pull's next try: 30 s doubling up to 10 min, and never sooner than
    the partner's Retry-After (the client honours up to a day of it)."""
    backoff = min(600, 30 * 2**retries)
    return backoff if retry_after is None else max(backoff, retry_after)


@shared_task(bind=True, soft_time_limit=1800, time_limit=1900, acks_late=True, max_retries=5)
def sync_partner_module(self, partner_id: int, module: str, full: bool = False) -> str:  # type: ignore[no-untyped-def]
    """One pull. A retryable failure retries with backoff and resumes at the page it stopped at."""
    from roaming.services import sync

    partner = Partner.objects.filter(pk=partner_id, status=Partner.Status.CONNECTED).first()
    if partner is None:
        return "skipped: not connected"
    # The partner's Retry-After holds back every pull queued meanwhile, scheduled or asked by staff;
    # this task's own retry is counted down from it (a second's slack for the clocks).
    until = partner.waits_until(timezone.now() + dt.timedelta(seconds=1))
    if until is not None:
        return f"skipped: the partner asked us to wait until {until:%Y-%m-%d %H:%M:%S} UTC"
    try:
        run = sync.sync_module(partner=partner, module=module, full=full)
    except sync.AlreadyRunning as running:
        if full and running.run.mode != SyncRun.Mode.FULL and self.request.retries < self.max_retries:
            # The nightly full pull met an increment (a few seconds): not skipped until tomorrow.
            raise self.retry(countdown=ALREADY_RUNNING_RETRY_SECONDS) from running
        return "skipped: already running"
    except sync.SyncError as error:
        if error.permanent:
            return f"failed: {error.message}"
        if self.request.retries >= self.max_retries:
            raise  # out of retries: the run stays FAILED with its reason, the next scheduled pull starts afresh
        sync.resume_failed(partner=partner, module=module)
        raise self.retry(countdown=retry_countdown(self.request.retries, error.retry_after), exc=error) from error
    return f"ok: {run.objects_stored} stored, {run.rejected} rejected in {run.pages} pages"


def pull_splay(full: bool) -> float:
    """Seconds to wait before a scheduled pull: a random moment within the splay (`OCPI_PULL_SPLAY_SECONDS`,
    `OCPI_FULL_PULL_SPLAY_SECONDS`), so that every partner is not pulled at the same second."""
    splay = settings.OCPI_FULL_PULL_SPLAY_SECONDS if full else settings.OCPI_PULL_SPLAY_SECONDS
    return random.uniform(0, max(0, splay))  # noqa: S311 - spreading load, not a secret


@shared_task(soft_time_limit=30, time_limit=60)
def sync_all_partners(full: bool = False) -> int:
    """Queue one pull per connected partner and module (beat: incremental every 5 min, full nightly),
    each starting within the splay."""
    from roaming.services.sync import MODULES

    count = 0
    for partner in Partner.objects.filter(status=Partner.Status.CONNECTED).prefetch_related("endpoints"):
        for module in MODULES:
            if partner.endpoint_url(module, "SENDER"):
                sync_partner_module.apply_async((partner.pk, module, full), countdown=pull_splay(full))
                count += 1
    return count


@shared_task(soft_time_limit=60, time_limit=90, acks_late=True)
def fetch_location(partner_id: int, country_code: str, party_id: str, location_id: str) -> str:
    """GET one Location a push showed we are missing from the partner's Sender, and store it."""
    from roaming.services import fetch

    partner = Partner.objects.filter(pk=partner_id, status=Partner.Status.CONNECTED).first()
    if partner is None:
        return "skipped: not connected"
    return fetch.fetch_location(partner=partner, country_code=country_code, party_id=party_id, location_id=location_id)
