"""Pull Locations and/or Tariffs from partners in the foreground, with a progress bar."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from roaming.models import Partner
from roaming.services import sync

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Pull locations and tariffs from connected partners (incremental by default)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--partner", type=int, help="Partner id (default: every connected partner)")
        parser.add_argument("--module", choices=sync.MODULES, help="Only this module (default: both)")
        parser.add_argument("--full", action="store_true", help="Full pull (no date_from) instead of incremental")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs only)")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        partners = Partner.objects.filter(status=Partner.Status.CONNECTED)
        if opts["partner"] is not None:
            chosen = Partner.objects.filter(pk=opts["partner"]).first()
            if chosen is None:
                raise CommandError(f"No partner with id {opts['partner']} (admin → Partners lists them with their ids).")
            if not chosen.is_connected:
                state = chosen.get_status_display()
                raise CommandError(f"{chosen} (#{chosen.pk}) is not connected ({state[0].lower()}{state[1:]}): nothing to pull.")
            partners = partners.filter(pk=chosen.pk)
        elif not partners.exists():
            self.stdout.write("No connected partner to pull from. Connect one with `ocpi_register VERSIONS_URL TOKEN_A`.")
            return
        modules = [opts["module"]] if opts["module"] else list(sync.MODULES)
        failures = 0
        for partner in partners:
            for module in modules:
                if not partner.endpoint_url(module, "SENDER"):
                    self.stdout.write(f"{partner}: no {module} Sender endpoint, skipped.")
                    continue
                failures += not self._pull(partner, module, opts["full"], show_progress=not opts["no_progress"])
        if failures:
            raise CommandError(f"{failures} pull(s) failed; see above and the Sync runs page in the admin.")

    def _pull(self, partner: Partner, module: str, full: bool, *, show_progress: bool) -> bool:
        # The raw stream: Django's wrapper would colour every redraw as an error and end it with a newline.
        stream = getattr(self.stderr, "_out", self.stderr)
        bar = tqdm(desc=f"{partner.name} {module}", unit=" objects", disable=not show_progress, file=stream)

        def on_page(progress: sync.PageProgress) -> None:
            if progress.total is not None and bar.total != progress.total:
                bar.total = progress.total
            bar.update(progress.page_objects)
            bar.set_postfix(pages=progress.run.pages, rejected=progress.run.rejected)

        # A pull that failed part-way for a reason that may pass goes on from the page it stopped
        # at, as the Celery task's retry does (a full pull asked for starts a whole list instead).
        sync.resume_failed(partner=partner, module=module)
        try:
            run = sync.sync_module(partner=partner, module=module, full=full, on_page=on_page)
        except sync.AlreadyRunning as error:
            bar.close()
            self.stderr.write(self.style.WARNING(f"{partner} {module}: skipped: {error.message}"))
            return True
        except sync.SyncError as error:
            bar.close()
            kind = "permanent" if error.permanent else "temporary: the next pull resumes from this page"
            self.stderr.write(self.style.ERROR(f"{partner} {module}: failed ({kind}): {error.message}"))
            return False
        except Exception as error:  # noqa: BLE001 - recorded on the run; the other pulls still go ahead
            bar.close()
            self.stderr.write(
                self.style.ERROR(f"{partner} {module}: failed (unexpected {type(error).__name__}: {error}); see the logs")
            )
            logger.exception("ocpi_sync: %s %s failed", partner, module)
            return False
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"{partner} {module} ({run.get_mode_display().lower()}): {run.objects_stored} stored, "
                f"{run.rejected} rejected, {run.pages} page{'' if run.pages == 1 else 's'} in {run.duration_seconds:.1f}s"
            )
        )
        if run.rejected:
            self.stdout.write(f"  Rejected objects and their reasons: admin → Quarantined objects (sync run #{run.pk}).")
        return True
