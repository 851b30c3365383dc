"""The charging network we aggregate from partners: Locations, EVSEs, Connectors, Tariffs.

Keys are (country_code, party_id, id) compared case-insensitively (OCPI CiString): we store
them upper-cased in `*_key` columns with unique constraints, and keep the partner's spelling
for display and for echoing back. The raw OCPI object is kept for audit and re-parsing.

Per-location summary fields (available EVSE count, max power, connector standards, remote
start, ad-hoc payment, status freshness) exist for fast map queries. They are computed from the
EVSEs and connectors by `roaming.services.network.summarize` and written in the same transaction
as the rows by every write path: a pull's bulk upsert, a PUT or PATCH, a staff fetch, and on
PostgreSQL the one-statement status PATCH, which moves them by the EVSE's old and new status.
A plain ORM save of an EVSE or connector does not recompute them: nothing writes those rows so
(the admin shows them read-only), and a new writer must go through the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone

from roaming.power import connector_power_w


class Location(models.Model):
    # Indexes are chosen for a sync writing ~150,000 rows a night: each one costs every write,
    # so none duplicates another (partner: the (partner, last_updated) index; key: the unique
    # constraint, without the LIKE index Django adds for unique=True on PostgreSQL).
    partner = models.ForeignKey("roaming.Partner", on_delete=models.PROTECT, related_name="locations", db_index=False)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    ocpi_id = models.CharField(max_length=36)
    key = models.CharField(max_length=48, help_text="COUNTRY*PARTY*ID, upper-cased.")
    publish = models.BooleanField(default=True)
    name = models.CharField(max_length=255, blank=True)
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=45)
    postal_code = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=45, blank=True)
    country = models.CharField(max_length=3)
    point = models.PointField(geography=False, srid=4326, spatial_index=True)
    parking_type = models.CharField(max_length=32, blank=True)
    time_zone = models.CharField(max_length=255)
    opening_times = models.JSONField(null=True, blank=True)
    charging_when_closed = models.BooleanField(default=True)
    facilities = models.JSONField(default=list, blank=True)
    operator_name = models.CharField(max_length=100, blank=True)
    suboperator_name = models.CharField(max_length=100, blank=True)
    owner_name = models.CharField(max_length=100, blank=True)
    publish_allowed_to = models.JSONField(default=list, blank=True)
    last_updated = models.DateTimeField()
    raw = models.JSONField(help_text="The Location's own fields as last received, without its EVSEs (each EVSE keeps its own).")
    received_at = models.DateTimeField(auto_now=True)
    delisted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a full pull of the CPO's list no longer had it (no longer valid, checklist §2.3): kept, hidden from"
        " drivers, until a pull or a PUT sends it again.",
    )

    # Summary for the map, kept right on every write path.
    evse_count = models.PositiveIntegerField(default=0)
    available_evse_count = models.PositiveIntegerField(default=0)
    max_power_kw = models.DecimalField(max_digits=8, decimal_places=1, default=0)
    connector_standards = models.JSONField(default=list, blank=True)
    remote_start_capable = models.BooleanField(default=False)
    ad_hoc_payment_capable = models.BooleanField(default=False)
    status_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="How recent our view of its EVSEs' statuses is: the newest last_updated among its EVSEs in service (an"
        " EVSE object is whole as of its last_updated, its status included).",
    )
    is_visible = models.BooleanField(default=True, db_index=True, help_text="Published, listed by its CPO and has at least one EVSE not REMOVED.")

    class Meta:
        indexes = [models.Index(fields=["partner", "last_updated"])]
        constraints = [models.UniqueConstraint(fields=["key"], name="unique_location_key")]

    def __str__(self) -> str:
        return f"{self.name or self.ocpi_id} ({self.city})"

    @staticmethod
    def make_key(country_code: str, party_id: str, ocpi_id: str) -> str:
        return f"{country_code.strip().upper()}*{party_id.strip().upper()}*{ocpi_id.strip().upper()}"

    @staticmethod
    def split_key(key: str) -> tuple[str, str, str]:
        """`make_key`'s parts back: country code, party id, id (neither of the first two can
        contain "*"; the id can)."""
        country_code, party_id, ocpi_id = key.split("*", 2)
        return country_code, party_id, ocpi_id


class EVSE(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "AVAILABLE"
        BLOCKED = "BLOCKED"
        CHARGING = "CHARGING"
        INOPERATIVE = "INOPERATIVE"
        OUTOFORDER = "OUTOFORDER"
        PLANNED = "PLANNED"
        REMOVED = "REMOVED"
        RESERVED = "RESERVED"
        UNKNOWN = "UNKNOWN"

    # Its index is the leading column of unique (location, uid_key).
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="evses", db_index=False)
    uid = models.CharField(max_length=36)
    uid_key = models.CharField(max_length=36)
    evse_id = models.CharField(max_length=48, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    capabilities = models.JSONField(default=list, blank=True)
    floor_level = models.CharField(max_length=4, blank=True)
    physical_reference = models.CharField(max_length=16, blank=True)
    parking_restrictions = models.JSONField(default=list, blank=True)
    point = models.PointField(srid=4326, null=True, blank=True)
    last_updated = models.DateTimeField()
    raw = models.JSONField()
    # A fingerprint of the EVSE's JSON as last received whole, connectors included, by a pull or
    # a Location PUT (see network.evse_digest): receiving the same EVSE again skips its rows.
    # Every other write clears it, so a row changed since (an EVSE or connector push, staff, a
    # retirement) is always rewritten: a digest that is set always describes the row as it is.
    digest = models.BigIntegerField(null=True, blank=True, editable=False)
    # The same for its connectors alone: an EVSE received again with only its own fields changed
    # (a status) leaves its connector rows alone. Cleared by every other write of its connectors.
    connectors_digest = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "uid_key"], name="unique_evse_uid_per_location")]
        ordering = ["location", "uid_key"]
        verbose_name = "EVSE"

    def __str__(self) -> str:
        return self.evse_id or self.uid

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Not what a pull received any more (only the pull's bulk write sets a digest).
        self.digest = None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "digest" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "digest"]
        super().save(*args, **kwargs)


class Connector(models.Model):
    # Its index is the leading column of unique (evse, id_key).
    evse = models.ForeignKey(EVSE, on_delete=models.CASCADE, related_name="connectors", db_index=False)
    ocpi_id = models.CharField(max_length=36)
    id_key = models.CharField(max_length=36)
    standard = models.CharField(max_length=32)
    format = models.CharField(max_length=8)
    power_type = models.CharField(max_length=16)
    # Null = the CPO did not say (real feeds omit them); the spec requires both.
    max_voltage = models.PositiveIntegerField(null=True, blank=True)
    max_amperage = models.PositiveIntegerField(null=True, blank=True)
    max_electric_power = models.PositiveIntegerField(null=True, blank=True, help_text="W")
    tariff_ids = models.JSONField(default=list, blank=True)
    terms_and_conditions = models.URLField(max_length=255, blank=True)
    last_updated = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evse", "id_key"], name="unique_connector_id_per_evse")]
        ordering = ["evse", "id_key"]

    def __str__(self) -> str:
        return f"{self.standard} {self.power_kw} kW"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        EVSE.objects.filter(pk=self.evse_id).update(digest=None, connectors_digest=None)  # they cover it

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        EVSE.objects.filter(pk=self.evse_id).update(digest=None, connectors_digest=None)
        return super().delete(*args, **kwargs)

    @property
    def power_kw(self) -> float:
        """Max power in kW (see `connector_power_w`)."""
        return connector_power_w(self.power_type, self.max_voltage, self.max_amperage, self.max_electric_power) / 1000


class Tariff(models.Model):
    """The current version of a CPO's tariff; every version is kept in TariffVersion."""

    partner = models.ForeignKey("roaming.Partner", on_delete=models.PROTECT, related_name="tariffs")
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    ocpi_id = models.CharField(max_length=36)
    key = models.CharField(max_length=48, unique=True)
    currency = models.CharField(max_length=3)
    type = models.CharField(max_length=20, blank=True)
    start_date_time = models.DateTimeField(null=True, blank=True)
    end_date_time = models.DateTimeField(null=True, blank=True)
    last_updated = models.DateTimeField(db_index=True)
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the CPO DELETEs it or its full list no longer has it; history stays."
    )
    raw = models.JSONField()
    received_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.ocpi_id} ({self.currency})"

    def version_at(self, moment):  # type: ignore[no-untyped-def]
        """The version that was in force at `moment` (the newest with last_updated ≤ moment), or
        None when there was none, or the tariff was withdrawn then (a DELETE, or a full list
        without it, until a PUT or a list brought it back: see TariffWithdrawal)."""
        withdrawn = self.withdrawals.filter(withdrawn_at__lte=moment).filter(
            Q(restored_at__isnull=True) | Q(restored_at__gt=moment)
        )
        if withdrawn.exists():
            return None
        return self.versions.filter(last_updated__lte=moment).order_by("-last_updated").first()

    @staticmethod
    def withdraw(tariff_ids: list[int], moment: dt.datetime) -> None:
        """They stop applying at `moment` (callers set `deleted_at` in the same transaction)."""
        open_ = set(TariffWithdrawal.objects.filter(tariff_id__in=tariff_ids, restored_at__isnull=True).values_list("tariff_id", flat=True))
        TariffWithdrawal.objects.bulk_create(
            [TariffWithdrawal(tariff_id=pk, withdrawn_at=moment) for pk in tariff_ids if pk not in open_]
        )

    @staticmethod
    def restore(tariff_ids: list[int], moment: dt.datetime) -> None:
        """They apply again from `moment`: each one's open withdrawal ends then."""
        TariffWithdrawal.objects.filter(tariff_id__in=tariff_ids, restored_at__isnull=True).update(restored_at=moment)


class TariffVersion(models.Model):
    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="versions")
    last_updated = models.DateTimeField()
    raw = models.JSONField(help_text="The tariff as we read it (what pricing reads).")
    # For audit and disputes: exactly what the CPO sent, its own extra fields included (a price
    # sent as "0.25" stays a string here). Empty for versions stored before it was kept.
    received = models.JSONField(null=True, blank=True, help_text="The tariff exactly as the CPO sent it.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tariff", "last_updated"], name="unique_tariff_version")]
        ordering = ["tariff", "-last_updated"]


class TariffWithdrawal(models.Model):
    """A period in which a tariff did not apply: from its DELETE (or the full list that no longer had
    it) until a PUT or a list brought it back. With the versions, the history says which tariff, if
    any, was in force at any moment (`Tariff.version_at`)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="withdrawals")
    withdrawn_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tariff", "-withdrawn_at"]
        constraints = [
            # One open withdrawal per tariff: a second DELETE changes nothing.
            models.UniqueConstraint(fields=["tariff"], condition=Q(restored_at__isnull=True), name="one_open_withdrawal")
        ]


class SyncRun(models.Model):
    class Mode(models.TextChoices):
        FULL = "FULL", "Full"
        INCREMENTAL = "INCREMENTAL", "Incremental"

    class State(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    partner = models.ForeignKey("roaming.Partner", on_delete=models.CASCADE, related_name="sync_runs")
    module = models.CharField(max_length=16)
    mode = models.CharField(max_length=12, choices=Mode.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING, db_index=True)
    date_from = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last page stored; a stale RUNNING run is resumed.")
    pages = models.PositiveIntegerField(default=0)
    objects_stored = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0, help_text="objects stored after a repair (see Repaired objects)")
    total_reported = models.PositiveIntegerField(null=True, blank=True, help_text="X-Total-Count of the first page.")
    next_url = models.TextField(blank=True, help_text="Where to resume if the run stopped part-way.")
    error = models.TextField(blank=True)
    error_permanent = models.BooleanField(default=False)
    delisted = models.PositiveIntegerField(
        default=0,
        help_text="held objects this full pull no longer listed: kept, locations hidden from drivers, tariffs no longer"
        " applied (checklist §2.3)",
    )
    note = models.TextField(blank=True, help_text="What staff should know of a run that succeeded.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["partner", "module", "state", "-started_at"])]
        constraints = [
            # One running pull per partner and module: a second worker cannot start the same run.
            models.UniqueConstraint(fields=["partner", "module"], condition=Q(state="RUNNING"), name="one_running_sync")
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.module} {self.mode} {self.started_at:%Y-%m-%d %H:%M}"

    # A RUNNING run without a page stored for this long lost its worker: the next pull takes it over.
    STALE_AFTER = dt.timedelta(minutes=10)

    def silent_for(self, now: dt.datetime) -> dt.timedelta:
        """How long since this run last stored a page (or started)."""
        return now - (self.heartbeat_at or self.started_at)

    def is_stalled(self, now: dt.datetime) -> bool:
        return self.silent_for(now) >= self.STALE_AFTER

    @property
    def duration_seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RepairedObject(models.Model):
    """An object a partner sent that we stored after repairing it (a number sent as a string, kW
    for W, a time zone's spelling…): each repair as the decoder described it, and the object
    exactly as it was sent. The stored row keeps the object as we read it (its `raw` is what a
    GET or a PATCH builds on)."""

    partner = models.ForeignKey("roaming.Partner", on_delete=models.CASCADE, related_name="repairs")
    sync_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="repairs")
    module = models.CharField(max_length=16)
    # An id is an object's only within its party: a hub's two CPOs may both send a LOC1.
    party = models.CharField(max_length=8, blank=True, default="", help_text="country code*party id, as the object says")
    object_id = models.CharField(max_length=64, blank=True, help_text="empty: the repairs concern the page")
    repairs = models.JSONField(default=list)
    raw = models.JSONField(null=True, blank=True, help_text="as the partner sent it")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        # The latest repairs of each object: a nightly full pull re-sends every object, and a
        # row per pull would grow without end.
        constraints = [
            models.UniqueConstraint(fields=["partner", "module", "party", "object_id"], name="one_repair_record_per_party_object")
        ]

    def __str__(self) -> str:
        return f"{self.module} {self.object_id or '(page)'}: {len(self.repairs)} repair(s)"


class QuarantinedObject(models.Model):
    """An object a partner sent that we could not understand, with the reason, for staff."""

    partner = models.ForeignKey("roaming.Partner", on_delete=models.CASCADE, related_name="quarantine")
    sync_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="quarantine")
    module = models.CharField(max_length=16)
    object_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    raw = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.module} {self.object_id or '?'}: {self.reason[:60]}"
