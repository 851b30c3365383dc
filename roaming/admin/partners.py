from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from roaming import selectors, tasks
from roaming.models import (
    HubClient,
    Location,
    Partner,
    PartnerEndpoint,
    PartnerRole,
    QuarantinedObject,
    SyncRun,
    Tariff,
)
from roaming.services import credentials as service


class PartnerRoleInline(admin.TabularInline):
    model = PartnerRole
    extra = 0
    can_delete = False
    readonly_fields = ("role", "country_code", "party_id", "business_name", "business_website")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PartnerEndpointInline(admin.TabularInline):
    model = PartnerEndpoint
    extra = 0
    can_delete = False
    readonly_fields = ("identifier", "role", "url")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class HubClientInline(admin.TabularInline):
    """A hub's parties (HubClientInfo): who the hub connects us to and whether it reaches them now."""

    model = HubClient
    extra = 0
    can_delete = False
    verbose_name = "party behind this hub"
    verbose_name_plural = "parties behind this hub (HubClientInfo; the CPOs may send us their objects)"
    readonly_fields = ("country_code", "party_id", "role", "status", "last_updated", "received_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "health", "party_roles", "version", "last_contact_at", "last_error_short")
    list_filter = ("status",)
    search_fields = ("name", "versions_url", "roles__party_id")
    readonly_fields = (
        "status",
        "versions_url",
        "version",
        "last_contact_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
        "token_state",
        "pulls",
        "tariffs_missing",
    )
    fields = ("name", "token_base64", *readonly_fields)
    inlines = [PartnerRoleInline, HubClientInline, PartnerEndpointInline]
    actions = ["pull_now", "full_pull_now", "reread_versions", "rotate_credentials", "unregister"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return super().get_queryset(request).prefetch_related("roles")

    def get_inlines(self, request: HttpRequest, obj: Partner | None) -> list[type[admin.options.InlineModelAdmin]]:
        inlines = list(super().get_inlines(request, obj))
        if obj is None or not obj.is_hub:  # only a hub has parties behind it
            inlines.remove(HubClientInline)
        return inlines

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Partners come from the handshake (ocpi_register / ocpi_issue_token), never by hand.
        return False

    @admin.display(description="Status")
    def health(self, partner: Partner) -> str:
        colour = {"CONNECTED": "#1a7f37", "PENDING": "#9a6700", "REGISTERING": "#9a6700"}.get(partner.status, "#cf222e")
        label = partner.get_status_display()
        if partner.is_connected and partner.last_error_at and (
            not partner.last_contact_at or partner.last_error_at > partner.last_contact_at
        ):
            colour, label = "#cf222e", "Connected, last call failed"
        elif partner.is_connected and partner.last_contact_at and timezone.now() - partner.last_contact_at > timezone.timedelta(hours=24):
            colour, label = "#9a6700", "Connected, silent for over a day"
        return format_html('<span style="color:{}">●</span> {}', colour, label)

    @admin.display(description="Parties")
    def party_roles(self, partner: Partner) -> str:
        return ", ".join(f"{r.country_code}*{r.party_id} {r.role}" for r in partner.roles.all()) or "—"

    @admin.display(description="Last error")
    def last_error_short(self, partner: Partner) -> str:
        return (partner.last_error[:80] + "…") if len(partner.last_error) > 80 else partner.last_error or "—"

    @admin.display(description="Tokens")
    def token_state(self, partner: Partner) -> str:
        # Tokens are never shown: inbound ones are stored hashed, outbound ones stay secret.
        inbound = "registration token A issued" if partner.inbound_token_is_registration else (
            "active" if partner.inbound_token_hash else "none"
        )
        outbound = "held (hidden)" if partner.outbound_token else "none"
        return f"Their token for us: {inbound}. Our token for them: {outbound}."

    @admin.display(description="Pulls and what we hold")
    def pulls(self, partner: Partner) -> str:
        """Each module's last pull (and, when that one did not succeed, the last that did), and what
        we hold of the partner's, linked to the lists. The change page only: a few counts."""
        from roaming.admin.network import run_outcome
        from roaming.services.sync import MODULES

        if partner.pk is None:
            return "—"
        lines = []
        for module in MODULES:
            name = module.capitalize()
            if not partner.endpoint_url(module, "SENDER"):
                lines.append(format_html("{}: it publishes none to pull (pushes only).", name))
                continue
            runs = SyncRun.objects.filter(partner=partner, module=module).order_by("-started_at", "-pk")
            latest = runs.first()
            if latest is None:
                lines.append(format_html("{}: never pulled.", name))
                continue
            line = f"{name}: the last pull ({latest.get_mode_display().lower()}) {run_outcome(latest)}"
            if latest.state != SyncRun.State.SUCCEEDED:
                success = runs.filter(state=SyncRun.State.SUCCEEDED).first()
                line += f". The last that succeeded: {run_outcome(success)}" if success else ". None has succeeded yet"
            lines.append(format_html("{}.", line))
        waiting = _asked_to_wait(partner)
        if waiting:
            lines.append(format_html("{}", waiting))
        # One pass over its Locations: their summaries count the EVSEs in service and those available
        # (kept right by every write path), where counting the EVSE rows took ~0.4 s at 150,000.
        held_of = Location.objects.filter(partner=partner).aggregate(
            locations=Count("pk"), shown=Count("pk", filter=Q(is_visible=True)),
            evses=Sum("evse_count", default=0), available=Sum("available_evse_count", default=0),
        )  # fmt: skip
        held = [  # (admin list, its partner filter, count, one, many, a part of them or "")
            ("location", "partner", held_of["locations"], "location", "locations", f"{held_of['shown']:,} shown to drivers"),
            ("evse", "location__partner", held_of["evses"], "EVSE", "EVSEs", f"{held_of['available']:,} available now"),
            ("tariff", "partner", Tariff.objects.filter(partner=partner, deleted_at__isnull=True).count(), "tariff", "tariffs", ""),
            ("quarantinedobject", "partner", QuarantinedObject.objects.filter(partner=partner).count(),
             "object in quarantine", "objects in quarantine", ""),
        ]  # fmt: skip
        links = []
        for model, lookup, count, one, many, part in held:
            url = reverse(f"admin:roaming_{model}_changelist") + f"?{lookup}__id__exact={partner.pk}"
            links.append(format_html('<a href="{}">{} {}</a>{}', url, f"{count:,}", one if count == 1 else many, f" ({part})" if part else ""))
        lines.append(format_html("We hold {}.", format_html_join(", ", "{}", ((link,) for link in links))))
        return format_html_join("", "<p>{}</p>", ((line,) for line in lines))

    @admin.display(description="Tariffs its chargers name that we lack")
    def tariffs_missing(self, partner: Partner) -> str:
        # The change page only: one grouped scan of the partner's connectors (~0.5 s for 160,000).
        if partner.pk is None:
            return "—"
        missing = selectors.missing_tariffs(partner.pk)
        if not missing.tariffs:
            return "None: we hold every tariff its chargers name."
        named = ", ".join(f"{key} ({connectors:,})" for key, connectors in missing.most_used)
        more = f" and {missing.tariffs - len(missing.most_used)} more" if missing.tariffs > len(missing.most_used) else ""
        return (
            f"{missing.tariffs} tariff(s), named by {missing.connectors:,} connectors, which show drivers no price:"
            f" {named}{more}. The action \"Full pull now\" brings them if the CPO publishes them."
        )

    def _for_each(self, request: HttpRequest, queryset: QuerySet[Partner], call: Callable[[Partner], str]) -> None:
        """Run a handshake service per partner and tell staff how each went."""
        for partner in queryset:
            try:
                self.message_user(request, f"{partner}: {call(partner)}", messages.SUCCESS)
            except service.RegistrationError as error:
                self.message_user(request, f"{partner}: {error.message}", messages.ERROR)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        # Pulling, re-reading, rotating and unregistering operate the connection: those who may
        # change partners, not all who may see the list (a view-only user had the last three).
        return request.user.has_perm("roaming.change_partner")

    @admin.action(description="Pull now: what changed since the last pull", permissions=["operate"])
    def pull_now(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._queue_pulls(request, queryset, full=False)

    @admin.action(description="Full pull now: everything it publishes (brings back what we lack)", permissions=["operate"])
    def full_pull_now(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._queue_pulls(request, queryset, full=True)

    def _queue_pulls(self, request: HttpRequest, queryset: QuerySet[Partner], *, full: bool) -> None:
        """Queued, not run in the request: a national network takes a while, and a hanging partner
        would hold the web worker for its timeouts and retries. The sync runs page shows each."""
        from roaming.admin.network import run_progress
        from roaming.services.sync import MODULES

        kind = "a full pull" if full else "a pull of what changed"
        for partner in queryset.prefetch_related("endpoints"):
            if not partner.is_connected:
                self.message_user(request, f"{partner}: not connected, nothing to pull.", messages.WARNING)
                continue
            modules = [module for module in MODULES if partner.endpoint_url(module, "SENDER")]
            if not modules:
                self.message_user(request, f"{partner}: publishes neither locations nor tariffs to pull.", messages.WARNING)
                continue
            waiting = _asked_to_wait(partner)
            if waiting:
                self.message_user(request, f"{partner}: {waiting[0].lower()}{waiting[1:]}", messages.WARNING)
                continue
            runs = reverse("admin:roaming_syncrun_changelist") + f"?partner__id__exact={partner.pk}"
            # A pull already under way would make the queued one skip itself: say so instead.
            running = {
                run.module: run
                for run in SyncRun.objects.filter(partner=partner, module__in=modules, state=SyncRun.State.RUNNING)
                if not run.is_stalled(timezone.now())
            }
            for module, run in running.items():
                self.message_user(
                    request,
                    format_html('{}: a pull of its {} is already running ({}). <a href="{}">Its sync runs</a> show how it goes.',
                                partner, module, run_progress(run), runs),
                    messages.WARNING,
                )
            modules = [module for module in modules if module not in running]
            if not modules:
                continue
            try:
                for module in modules:
                    tasks.sync_partner_module.delay(partner.pk, module, full)
            except Exception as error:  # noqa: BLE001 - the broker is down: say so, do not fail the page
                self.message_user(request, f"{partner}: could not be queued ({error}).", messages.ERROR)
                continue
            self.message_user(
                request,
                format_html(
                    '{}: {} of its {} is queued. <a href="{}">Its sync runs</a> show how it went.',
                    partner, kind, " and ".join(modules), runs,
                ),
                messages.SUCCESS,
            )

    @admin.action(description="Re-read versions and endpoints", permissions=["operate"])
    def reread_versions(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._for_each(
            request, queryset, lambda p: f"{service.refresh_versions(partner=p).endpoints.count()} endpoints read."
        )

    @admin.action(description="Rotate credentials (new tokens both ways)", permissions=["operate"])
    def rotate_credentials(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        def rotate(partner: Partner) -> str:
            service.rotate_credentials(partner=partner)
            return "credentials rotated."

        self._for_each(request, queryset, rotate)

    @admin.action(description="Unregister (end the connection)", permissions=["operate"])
    def unregister(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            self.message_user(request, f"{partner}: {service.unregister_from_partner(partner=partner)}", messages.WARNING)


def _asked_to_wait(partner: Partner) -> str:
    """What staff are told while the partner's Retry-After holds its pulls back ("" when it does not)."""
    until = partner.waits_until(timezone.now())
    return f"It asked us (Retry-After) to pull nothing before {until:%Y-%m-%d %H:%M} UTC; pulls resume then." if until else ""

