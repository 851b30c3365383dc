from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from leaflet import app_settings as leaflet_settings

from roaming import selectors, tasks
from roaming.models import (
    EVSE,
    Connector,
    Location,
    QuarantinedObject,
    RepairedObject,
    SyncRun,
    Tariff,
    TariffVersion,
    TariffWithdrawal,
)


class ReadOnlyMixin:
    """Roaming data comes from partners: staff look, they do not edit it by hand."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EvseTimeMixin:
    @admin.display(description="Last change (charger's time)", ordering="last_updated")
    def status_since(self, evse: EVSE) -> str:
        return selectors.local_time(evse.last_updated, evse.location.time_zone)


class EVSEInline(EvseTimeMixin, ReadOnlyMixin, admin.TabularInline):
    model = EVSE
    fields = ("uid", "evse_id", "status", "status_since", "sockets", "capabilities")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[EVSE]:
        return super().get_queryset(request).select_related("location").prefetch_related("connectors").order_by("pk")

    @admin.display(description="Connectors")
    def sockets(self, evse: EVSE) -> str:
        return ", ".join(f"{c.standard} {c.format.lower()} {c.power_kw:g} kW" for c in evse.connectors.all()) or "—"


class ListedFilter(admin.SimpleListFilter):
    title = "in the CPO's list"
    parameter_name = "listed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Listed"), ("no", "No longer listed (hidden from drivers)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Location]) -> QuerySet[Location]:
        if self.value() == "yes":
            return queryset.filter(delisted_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(delisted_at__isnull=False)
        return queryset


@admin.register(Location)
class LocationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "name", "city", "country", "partner", "evse_count", "available_evse_count", "max_power_kw", "is_visible", "last_updated_local",
    )  # fmt: skip
    list_filter = ("is_visible", ListedFilter, "country", "remote_start_capable", "ad_hoc_payment_capable", "partner")
    search_fields = ("name", "address", "city", "ocpi_id", "key")
    inlines = [EVSEInline]
    list_select_related = ("partner",)
    show_full_result_count = False
    actions = ["fetch_from_cpo"]

    # Each one is a call to the partner: a bounded number per action.
    FETCH_AT_MOST = 20

    readonly_fields = ("on_the_map", "opening_hours", "status_as_of", "last_updated_local")
    fieldsets = (
        (None, {"fields": ("name", "address", "postal_code", "city", "state", "country", "on_the_map", "time_zone",
                           "opening_hours", "charging_when_closed", "parking_type", "facilities")}),
        ("Right now", {"fields": ("is_visible", "delisted_at", "evse_count", "available_evse_count", "status_as_of", "max_power_kw",
                                  "connector_standards", "remote_start_capable", "ad_hoc_payment_capable")}),
        ("Operator", {"fields": ("partner", "operator_name", "suboperator_name", "owner_name", "publish", "publish_allowed_to")}),
        ("As the CPO sent it", {"fields": ("country_code", "party_id", "ocpi_id", "key", "last_updated_local", "received_at", "raw")}),
    )

    class Media:
        css = {"all": ("leaflet/leaflet.css",)}
        js = ("leaflet/leaflet.js", "roaming/location_map.js")

    @admin.display(description="On the map")
    def on_the_map(self, location: Location) -> str:
        if location.point is None:
            return "—"
        latitude, longitude = location.point.y, location.point.x
        _name, tiles, options = leaflet_settings["TILES"][0]
        return format_html(
            '<div data-charger-map data-lat="{}" data-lon="{}" data-name="{}" data-tiles="{}" data-attribution="{}"'
            ' style="height:260px;width:600px;max-width:100%"></div>'
            '<p><a href="https://www.openstreetmap.org/?mlat={}&amp;mlon={}#map=18/{}/{}" target="_blank" rel="noopener">{}, {}</a></p>',
            latitude, longitude, location.name or location.address, tiles, options.get("attribution", ""),
            latitude, longitude, latitude, longitude, f"{latitude:.6f}", f"{longitude:.6f}",
        )

    @admin.display(description="Opening hours")
    def opening_hours(self, location: Location) -> str:
        return selectors.describe_opening_times(location.opening_times, location.time_zone)

    @admin.display(description="Status as of (charger's time)")
    def status_as_of(self, location: Location) -> str:
        return selectors.local_time(location.status_updated_at, location.time_zone)

    @admin.display(description="Last updated (charger's time)", ordering="last_updated")
    def last_updated_local(self, location: Location) -> str:
        return selectors.local_time(location.last_updated, location.time_zone)

    def has_fetch_permission(self, request: HttpRequest) -> bool:
        # Asking a partner for data is operating its connection: those who may change partners.
        return request.user.has_perm("roaming.change_partner")

    @admin.action(description="Fetch again from the CPO (e.g. a charger reported wrong)", permissions=["fetch"])
    def fetch_from_cpo(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        """Queued, not run in the request: a partner that hangs would otherwise hold the page (and
        the web worker) for its timeouts and retries."""
        locations = list(queryset.select_related("partner").order_by("pk")[: self.FETCH_AT_MOST + 1])
        if len(locations) > self.FETCH_AT_MOST:
            self.message_user(request, f"Select at most {self.FETCH_AT_MOST} locations at a time.", messages.ERROR)
            return
        queued = []
        for location in locations:
            if not location.partner.is_connected:
                self.message_user(request, f"{location.key}: {location.partner} is not connected.", messages.WARNING)
                continue
            try:
                tasks.fetch_location.delay(location.partner_id, location.country_code, location.party_id, location.ocpi_id)
            except Exception as error:  # noqa: BLE001 - the broker is down: say so, do not fail the page
                self.message_user(request, f"{location.key}: could not be queued ({error}).", messages.ERROR)
                continue
            queued.append(location.key)
        if queued:
            self.message_user(
                request,
                f"Fetching {', '.join(queued)} from the CPO: reload in a few seconds. A failure shows on the"
                " partner's page (last error) or in the quarantine.",
                messages.SUCCESS,
            )


class ConnectorInline(ReadOnlyMixin, admin.TabularInline):
    model = Connector
    fields = ("ocpi_id", "standard", "format", "power_type", "max_voltage", "max_amperage", "max_electric_power", "tariff_ids")
    readonly_fields = fields
    extra = 0


@admin.register(EVSE)
class EVSEAdmin(EvseTimeMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "location", "status", "status_since")
    readonly_fields = ("status_since",)
    list_filter = ("status", ("location__partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("uid", "evse_id", "location__name")
    inlines = [ConnectorInline]
    list_select_related = ("location",)
    show_full_result_count = False


class TariffVersionInline(ReadOnlyMixin, admin.StackedInline):
    model = TariffVersion
    fields = ("last_updated", "received_at", "received")
    readonly_fields = fields
    extra = 0


class TariffWithdrawalInline(ReadOnlyMixin, admin.TabularInline):
    model = TariffWithdrawal
    fields = ("withdrawn_at", "restored_at")
    readonly_fields = fields
    extra = 0
    verbose_name = "period it did not apply (deleted, or not in the CPO's full list)"
    verbose_name_plural = "periods it did not apply (deleted, or not in the CPO's full list)"


@admin.register(Tariff)
class TariffAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("ocpi_id", "country_code", "party_id", "currency", "type", "in_plain_words", "last_updated", "deleted_at")
    list_filter = ("currency", "type", "partner")
    search_fields = ("ocpi_id", "key")
    inlines = [TariffWithdrawalInline, TariffVersionInline]
    readonly_fields = ("in_plain_words", "worked_example")
    fields = ("partner", "ocpi_id", "currency", "type", "start_date_time", "end_date_time", "last_updated", "deleted_at",
              "in_plain_words", "worked_example")

    @admin.display(description="Price in plain words")
    def in_plain_words(self, tariff: Tariff) -> str:
        return selectors.tariff_in_words(tariff)

    @admin.display(description="Worked example: 30 kWh at 50 kW, starting now")
    def worked_example(self, tariff: Tariff) -> str:
        example = selectors.tariff_worked_example(tariff, rules=selectors.driver_rules())
        if example.error:
            return example.error
        return format_html(
            "<table><tr><th></th><th>excl. VAT</th><th>incl. VAT</th></tr>"
            "<tr><td>CPO price (our cost)</td><td>{}</td><td>{}</td></tr>"
            "<tr><td>Driver price ({})</td><td>{}</td><td>{}</td></tr></table><p>{}</p>",
            example.cpo_excl, example.cpo_incl, example.rules_name, example.driver_excl, example.driver_incl, example.summary,
        )


def _minutes(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def run_progress(run: SyncRun) -> str:
    """How far a running pull is, or that it stalled (its worker died) and will be resumed."""
    now = timezone.now()
    done = run.objects_stored + run.rejected
    progress = f"{done:,} objects"
    if run.total_reported:
        progress = f"{done:,} of {run.total_reported:,} objects ({min(done / run.total_reported, 1):.0%})"
    if run.is_stalled(now):
        return f"stalled: no page for {_minutes(run.silent_for(now))}; the next pull resumes it ({progress})"
    return f"running for {_minutes(now - run.started_at)}: {progress}"


def run_outcome(run: SyncRun) -> str:
    """One run in a sentence, for the partner's page."""
    if run.state == SyncRun.State.RUNNING:
        return run_progress(run)
    when = run.finished_at or run.heartbeat_at or run.started_at
    since = timesince(when)
    at = f"{'just now' if since.startswith('0') else since + ' ago'} ({when.astimezone(dt.UTC):%d %b %Y %H:%M} UTC)"
    if run.state == SyncRun.State.FAILED:
        return f"failed {at}: {run.error[:200] or 'no reason recorded'}"
    seconds = run.duration_seconds or 0
    hidden = f", {run.delisted:,} no longer listed (hidden)" if run.delisted else ""
    note = f". {run.note}" if run.note else ""
    return f"succeeded {at}: {run.objects_stored:,} stored, {run.rejected:,} quarantined{hidden}, in {seconds:.1f} s{note}"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Few, narrow columns: with the admin's two sidebars, the eleven it had ran past a laptop screen
    # and the error, last, scrolled out of sight (checked in Chromium at 1280 px).
    list_display = ("what", "state", "started", "duration", "result", "short_error")
    list_filter = ("state", "module", "mode", "partner")
    list_select_related = ("partner",)

    @admin.display(description="Pull", ordering="partner__name")
    def what(self, run: SyncRun) -> str:
        return f"{run.partner}: {run.module}, {run.get_mode_display().lower()}"

    @admin.display(description="Started (UTC)", ordering="started_at")
    def started(self, run: SyncRun) -> str:
        return f"{run.started_at.astimezone(dt.UTC):%d %b %Y %H:%M}"

    @admin.display(description="Duration")
    def duration(self, run: SyncRun) -> str:
        """How long it took; for a running pull, how far it is (each page commits its progress)."""
        seconds = run.duration_seconds
        if seconds is not None:
            return f"{seconds:.1f} s"
        return run_progress(run) if run.state == SyncRun.State.RUNNING else "—"  # "—": failed before it finished

    @admin.display(description="Result")
    def result(self, run: SyncRun) -> str:
        pages = f"{run.pages:,} page{'' if run.pages == 1 else 's'}"
        repaired = f", {run.repaired:,} repaired" if run.repaired else ""
        hidden = f", {run.delisted:,} no longer listed" if run.delisted else ""
        return f"{run.objects_stored:,} stored, {run.rejected:,} quarantined{repaired}{hidden} ({pages})"

    @admin.display(description="Error or note")
    def short_error(self, run: SyncRun) -> str:
        return (run.error or run.note)[:100] or "—"


@admin.register(QuarantinedObject)
class QuarantinedObjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Why first: it is what staff come for, and the last columns of a wide list scroll out of sight.
    list_display = ("why", "object_id", "partner", "module", "received_at")
    list_filter = ("module", "partner")
    search_fields = ("object_id", "reason")
    list_select_related = ("partner",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuarantinedObject]:
        return super().get_queryset(request).select_related("partner")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Staff clear the quarantine once a partner fixed its data: those given the right to (the
        # read-only mixin would refuse everyone; returning True let any staff member delete).
        return request.user.has_perm("roaming.delete_quarantinedobject")

    @admin.display(description="Why it was not stored", ordering="reason")
    def why(self, obj: QuarantinedObject) -> str:
        return obj.reason if len(obj.reason) <= 200 else obj.reason[:200] + "…"  # whole on its page


@admin.register(RepairedObject)
class RepairedObjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("first_repair", "repair_count", "object_id", "party", "partner", "module", "received_at")
    list_filter = ("module", "partner")
    search_fields = ("object_id", "party")
    list_select_related = ("partner",)

    @admin.display(description="What was repaired (the first)")
    def first_repair(self, obj: RepairedObject) -> str:
        return obj.repairs[0] if obj.repairs else "—"

    @admin.display(description="Repairs")
    def repair_count(self, obj: RepairedObject) -> int:
        return len(obj.repairs)
