"""Roaming hubs: the parties a hub connects us to (OCPI HubClientInfo, checklist §10).

In 2.2.1 a hub's credentials name only its own HUB role; who is behind it comes through
HubClientInfo: the hub PUTs a ClientInfo to us whenever a party's connection changes, and we
pull its list (the hub's Sender interface) when we connect and with each health check and pull.
The CPOs among them are the parties the hub may send Locations and Tariffs for
(`Partner.refresh_parties`); everything else they send is refused as another party's, as before.
A ClientInfo is never deleted (the spec has no DELETE): a party the hub drops is reported with
another status, and it keeps its ownership of what it sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from pydantic import ValidationError

from roaming.models import HubClient, Partner, PartnerRole
from roaming.ocpi.client import OcpiClient, TransportError, iterate_pages
from roaming.ocpi.v221.common import describe_errors, format_datetime
from roaming.ocpi.v221.hubclientinfo import ClientInfo
from roaming.services import network
from roaming.services.push import Outcome, PushError, UnknownObject

logger = logging.getLogger(__name__)

MODULE = "hubclientinfo"


class NotAHub(PushError):
    """HubClientInfo from a partner whose credentials name no HUB role."""


def store_client_info(*, partner: Partner, info: ClientInfo) -> Outcome:
    """Keep what a hub says of one of its parties; a version older than the one we hold is
    acknowledged and ignored, as in every module."""
    if not partner.is_hub:
        raise NotAHub("Only a roaming hub (a HUB role in its credentials) can tell us about its clients.")
    country_code, party_id = info.country_code.upper(), info.party_id.upper()
    with transaction.atomic():
        # The hub's row first: two clients stored at once would each recompute the partner's
        # parties without the other (a CPO silently dropped), or both insert a new one.
        partner.lock_row()
        held = HubClient.objects.select_for_update().filter(partner=partner, country_code=country_code, party_id=party_id).first()
        if held is not None and info.last_updated < held.last_updated:
            return Outcome.IGNORED_OLDER
        if held is not None and (held.role, held.status, held.last_updated) == (info.role, info.status, info.last_updated):
            return Outcome.UNCHANGED
        was_cpo = held is not None and held.role == PartnerRole.CPO
        client = held or HubClient(partner=partner, country_code=country_code, party_id=party_id)
        client.role, client.status, client.last_updated = info.role.value, info.status.value, info.last_updated
        client.save()
        if was_cpo != (client.role == PartnerRole.CPO):
            partner.refresh_parties()
    logger.info("Hub %s: %s*%s (%s) is %s", partner, country_code, party_id, client.role, client.status)
    return Outcome.CREATED if held is None else Outcome.UPDATED


def client_info(*, partner: Partner, country_code: str, party_id: str) -> dict[str, Any]:
    """The ClientInfo we hold for that party, as OCPI JSON."""
    client = HubClient.objects.filter(partner=partner, country_code=country_code.upper(), party_id=party_id.upper()).first()
    if client is None:
        raise UnknownObject(f"No ClientInfo for {country_code}*{party_id}.")
    return {
        "party_id": client.party_id,
        "country_code": client.country_code,
        "role": client.role,
        "status": client.status,
        "last_updated": format_datetime(client.last_updated),
    }


@dataclass
class HubPull:
    stored: int = 0  # new or changed
    unchanged: int = 0
    rejected: list[tuple[str, str, Any]] = field(default_factory=list)  # (party, reason, raw), quarantined


def pull_clients(*, partner: Partner) -> HubPull | None:
    """Read the hub's whole list of clients (paginated) and keep it. None when the partner is no
    hub or publishes no HubClientInfo Sender. Transport errors are raised (`TransportError`);
    a ClientInfo we cannot read is quarantined with its reason and the rest is kept."""
    url = partner.endpoint_url(MODULE, "SENDER")
    prefetch_related_objects([partner], "roles")  # `store_client_info` asks "a hub?" for every client
    if not url or not partner.is_hub:
        return None
    result = HubPull()
    with OcpiClient(partner.outbound_token, base64_token=partner.token_base64) as client:
        # A configuration module: no routing headers (checklist §2.1).
        for response in iterate_pages(client, url, params={"limit": settings.OCPI_PAGE_LIMIT}):
            if not isinstance(response.data, list):
                raise TransportError(f"{url} did not answer with a list of ClientInfo objects", permanent=True, url=url)
            for item in response.data:
                try:
                    info = ClientInfo.model_validate(item)
                except ValidationError as error:
                    party = f"{item.get('country_code', '?')}*{item.get('party_id', '?')}" if isinstance(item, dict) else ""
                    reason = "Invalid ClientInfo: " + "; ".join(describe_errors(error, ClientInfo))
                    result.rejected.append((party, reason, item))
                    continue
                if store_client_info(partner=partner, info=info) in (Outcome.CREATED, Outcome.UPDATED):
                    result.stored += 1
                else:
                    result.unchanged += 1
    if result.rejected:
        network.quarantine(partner=partner, module=MODULE, rejects=result.rejected)
    return result


def refresh_clients(*, partner: Partner) -> HubPull | None:
    """`pull_clients`, for callers that must carry on without it (a pull, a health check): a
    failure is logged and recorded on the partner, and the parties we know stay as they are."""
    try:
        return pull_clients(partner=partner)
    except TransportError as error:
        logger.warning("Hub %s: could not read its clients: %s", partner, error)
        partner.record_error(f"HubClientInfo: {error}")
        return None
