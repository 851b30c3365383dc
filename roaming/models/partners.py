"""OCPI partners (CPOs and hubs) and the credentials we hold for them.

Token vocabulary, from our side of the wire:
- *inbound token*: what the partner puts in `Authorization` when it calls us. We issue it
  (token A, B or C in the spec's naming) and keep only its SHA-256: a database leak does not
  let anyone call us as the partner. Tokens are 256-bit random, so an unsalted hash is safe.
- *outbound token*: what we put in `Authorization` when we call them. We must be able to send
  it, so it is stored encrypted under a key derived from SECRET_KEY (`fields.EncryptedTokenField`):
  a copy of the database alone does not let anyone call the partner as us. The admin never shows it.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from roaming.models.columns import Columns
from roaming.models.fields import EncryptedTokenField
from roaming.ocpi.auth import new_token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Partner(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for the partner to register (token A issued)"
        REGISTERING = "REGISTERING", "Handshake in progress"
        CONNECTED = "CONNECTED", "Connected"
        SUSPENDED = "SUSPENDED", "Suspended by staff"
        UNREGISTERED = "UNREGISTERED", "Unregistered"

    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    versions_url = models.URLField(max_length=255, blank=True, help_text="The partner's OCPI versions endpoint.")
    version = models.CharField(max_length=10, blank=True, help_text="OCPI version agreed in the handshake.")
    inbound_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    inbound_token_is_registration = models.BooleanField(
        default=False, editable=False, help_text="True while the inbound token is a token A (versions and credentials only)."
    )
    # A str on the instance, encrypted in the column (Any: Django's fields are untyped here).
    outbound_token: Any = EncryptedTokenField(max_length=255, blank=True, editable=False)
    token_base64 = models.BooleanField(
        default=True,
        help_text="Send our token Base64-encoded (OCPI 2.2.1). Untick for peers that expect the raw token (2.1.1 style).",
    )
    last_contact_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    pull_not_before = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="It asked us (Retry-After) to pull nothing from it before then."
    )
    # "CC*PID" of every party in its roles, upper-cased: the party check on each pushed object
    # reads the partner row it already has instead of querying the roles (replace_roles keeps it).
    parties = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Tokens -----------------------------------------------------------------------------------

    def issue_inbound_token(self, *, registration: bool = False) -> str:
        """Replace the partner's inbound token by a fresh one; the old one stops working at once."""
        token = new_token()
        self.inbound_token_hash = hash_token(token)
        self.inbound_token_is_registration = registration
        return token

    def revoke_tokens(self) -> None:
        self.inbound_token_hash = None
        self.inbound_token_is_registration = False
        self.outbound_token = ""

    @classmethod
    def authenticate(cls, candidates: list[str]) -> Partner | None:
        """The partner whose inbound token is one of `candidates` (each OCPI request: a fixed
        SELECT, not compiled by the ORM every time; always read fresh, so a revoked token stops
        working at once)."""
        hashes = list(dict.fromkeys(hash_token(candidate) for candidate in candidates if candidate))
        if not hashes:
            return None
        reader = _partner_columns()
        placeholders = ", ".join(["%s"] * len(hashes))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {reader.sql} FROM {cls._meta.db_table} p"  # noqa: S608 - fixed names, values bound
                f" WHERE p.inbound_token_hash IN ({placeholders}) ORDER BY p.id LIMIT 1",
                hashes,
            )
            row = cursor.fetchone()
        return None if row is None else reader.build(row)

    # Health -----------------------------------------------------------------------------------

    CONTACT_RESOLUTION = timedelta(minutes=1)

    def record_contact(self) -> None:
        """Note that the partner answered or called. At most one write a minute per partner:
        a busy CPO pushes hundreds of PATCHes a second, and each would otherwise update (and
        lock) this same row."""
        now = timezone.now()
        recovered = self.last_error_at is not None and (self.last_contact_at is None or self.last_error_at > self.last_contact_at)
        if self.last_contact_at and now - self.last_contact_at < self.CONTACT_RESOLUTION and not recovered:
            return
        Partner.objects.filter(pk=self.pk).update(last_contact_at=now)
        self.last_contact_at = now

    def record_error(self, message: str) -> None:
        now = timezone.now()
        Partner.objects.filter(pk=self.pk).update(last_error=message[:2000], last_error_at=now)
        self.last_error, self.last_error_at = message[:2000], now

    def ask_to_wait(self, seconds: float) -> None:
        """The partner answered with Retry-After: no scheduled pull of it before then."""
        until = timezone.now() + timedelta(seconds=seconds)
        Partner.objects.filter(pk=self.pk).update(pull_not_before=until)
        self.pull_not_before = until

    def waits_until(self, now: datetime) -> datetime | None:
        """When the partner said we may pull again, if that is still ahead of `now`."""
        return self.pull_not_before if self.pull_not_before and self.pull_not_before > now else None

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    # Endpoints and parties ----------------------------------------------------------------------

    def endpoint_url(self, identifier: str, role: str) -> str | None:
        for endpoint in self.endpoints.all():
            if endpoint.identifier == identifier and endpoint.role == role:
                return endpoint.url
        return None

    def may_act_for(self, country_code: str, party_id: str) -> bool:
        """Whether this partner may send objects owned by that party: one of its own credentials
        roles, or for a hub a CPO it connects us to (`HubClient`)."""
        return f"{country_code}*{party_id}".upper() in self.parties

    @functools.cached_property
    def business_names(self) -> dict[str, str]:
        """Party ("CC*PTY") → the name its credentials role gives (BusinessDetails): who operates
        a Location that names no operator (checklist §3.3). Read once per instance; a sync reads
        it before forking its page workers, which must not touch the database."""
        return {f"{role.country_code}*{role.party_id}".upper(): role.business_name for role in self.roles.all()}

    @property
    def is_hub(self) -> bool:
        return self.hub_party() is not None

    def hub_party(self) -> tuple[str, str] | None:
        """The hub's own (country_code, party_id), from its HUB role; None for a CPO."""
        role = next((role for role in self.roles.all() if role.role == PartnerRole.HUB), None)
        return None if role is None else (role.country_code.upper(), role.party_id.upper())

    def refresh_parties(self) -> None:
        """Recompute `parties`: its credentials roles and, for a hub, the CPOs it connects us to.

        Only CPOs: they own the Locations, Tariffs, Sessions and CDRs a hub forwards. An eMSP the
        hub lists (ourselves, for one) gives it no right to write under that party's ids."""
        keys = {f"{role.country_code}*{role.party_id}".upper() for role in self.roles.all()}
        if self.is_hub:
            clients = self.hub_clients.filter(role=PartnerRole.CPO).values_list("country_code", "party_id")
            keys |= {f"{country_code}*{party_id}".upper() for country_code, party_id in clients}
        self.parties = sorted(keys)
        Partner.objects.filter(pk=self.pk).update(parties=self.parties)

    def lock_row(self) -> str:
        """Lock this partner's row until the transaction ends, and return its status as stored.

        Taken first by whatever recomputes or replaces what hangs off it: its endpoints and roles
        (deleted and inserted: two replacements at once would both insert), its hub's clients and
        parties (two clients stored at once would each recompute the parties without the other).
        """
        return Partner.objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True).get()

    @transaction.atomic
    def replace_endpoints(self, endpoints: list[dict[str, Any]]) -> None:
        self.lock_row()
        self.endpoints.all().delete()
        PartnerEndpoint.objects.bulk_create(
            PartnerEndpoint(partner=self, identifier=e["identifier"], role=e["role"], url=e["url"]) for e in endpoints
        )

    @transaction.atomic
    def replace_roles(self, roles: list[dict[str, Any]]) -> None:
        self.lock_row()
        self.roles.all().delete()
        PartnerRole.objects.bulk_create(PartnerRole(partner=self, **role) for role in roles)
        if hasattr(self, "_prefetched_objects_cache"):
            self._prefetched_objects_cache.pop("roles", None)
        self.__dict__.pop("business_names", None)
        self.refresh_parties()


@functools.cache
def _partner_columns() -> Columns[Partner]:
    return Columns(Partner, "p", [f.name for f in Partner._meta.concrete_fields])


class PartnerRole(models.Model):
    """One (role, country_code, party_id) the partner declared in its credentials. A 2.2.1 hub
    declares its own HUB role and names the parties behind it through HubClientInfo (`HubClient`);
    some hubs list those parties here as well."""

    CPO, HUB = "CPO", "HUB"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=8)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    business_name = models.CharField(max_length=100)
    business_website = models.URLField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "role", "country_code", "party_id"], name="unique_partner_role")
        ]
        ordering = ["country_code", "party_id", "role"]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role})"


class PartnerEndpoint(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="endpoints")
    identifier = models.CharField(max_length=32)
    role = models.CharField(max_length=8)
    url = models.URLField(max_length=255)

    class Meta:
        ordering = ["identifier", "role"]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.role})"


class HubClient(models.Model):
    """A party a roaming hub connects us to (OCPI HubClientInfo, checklist §10): its ids, role and
    whether the hub can reach it now. The hub PUTs changes to us and we pull its list; the CPOs
    among them are parties the hub may send objects for (`Partner.refresh_parties`)."""

    class Status(models.TextChoices):
        CONNECTED = "CONNECTED", "Connected"
        OFFLINE = "OFFLINE", "Offline (the hub cannot reach it now)"
        PLANNED = "PLANNED", "Planned (not connected yet)"
        SUSPENDED = "SUSPENDED", "Suspended"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="hub_clients")
    country_code = models.CharField(max_length=2)  # upper-cased: ids compare case-insensitively
    party_id = models.CharField(max_length=3)
    role = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=Status.choices)
    last_updated = models.DateTimeField()
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "country_code", "party_id"], name="unique_hub_client")]
        ordering = ["country_code", "party_id"]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role}, {self.status.lower()})"
