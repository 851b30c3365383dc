"""One Location fetched from its CPO when a push shows we are missing it (checklist §4.1).

A PUT or PATCH under a Location we do not hold is answered 2003 (unknown location), and the spec
expects the CPO to PUT the whole Location first. Many CPOs do not, and a push-only partner may
have sent that PUT while we were down: until the nightly full pull, every status change of that
site would be refused and its chargers missing from the map. The checklist's recommendation,
done here: ask the partner's Locations Sender for it, `GET {locations}/{location_id}`, and store
it as a pulled one (the pull's tolerance, repairs kept for staff, a bad object quarantined with
its reason). The same when a push names an EVSE or connector we do not hold under a Location we
do: our copy of that Location is behind.

A partner sending many pushes for the same missing Location (status changes, several a second)
gets one fetch a minute: `queue_location_fetch` keeps a cache key per Location for
`FETCH_AGAIN_AFTER` seconds. And at most `OCPI_FETCHES_PER_MINUTE` Locations of one partner are
fetched a minute, so a CPO whose pushes name thousands of ids we lack (a broken back end, or one
sending before its PUTs) cannot flood our task queue; the nightly full pull catches up.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from roaming.models import Location, Partner
from roaming.ocpi.client import OcpiClient, Routing, TransportError
from roaming.ocpi.envelope import format_datetime
from roaming.ocpi.v221.common import ci_equal
from roaming.ocpi.v221.feeds import Reject, decode_object, storable
from roaming.services import network

logger = logging.getLogger(__name__)

FETCH_AGAIN_AFTER = 60  # seconds: at most one fetch of a Location per partner and minute


def queue_location_fetch(*, partner: Partner, country_code: str, party_id: str, location_id: str) -> bool:
    """Queue `fetch_location` for a Location a push showed we are missing. True when queued.

    Not queued: the partner publishes no Locations Sender, or the same Location was queued less
    than a minute ago. Never raises: the push it comes from is answered either way.
    """
    if not partner.endpoint_url("locations", "SENDER"):
        return False
    guard = f"ocpi:fetch-location:{partner.pk}:{Location.make_key(country_code, party_id, location_id)}"
    if not cache.add(guard, 1, FETCH_AGAIN_AFTER):
        return False
    if _fetches_this_minute(partner) > settings.OCPI_FETCHES_PER_MINUTE:
        logger.warning("Not fetching location %s*%s*%s for %s: over %d fetches this minute", country_code, party_id, location_id,
                       partner, settings.OCPI_FETCHES_PER_MINUTE)
        return False
    from roaming.tasks import fetch_location  # tasks call services: imported when used

    try:
        fetch_location.delay(partner.pk, country_code, party_id, location_id)
    except Exception:  # noqa: BLE001 - a broker outage must not turn the push's answer into a 500
        cache.delete(guard)  # the next push tries again
        logger.warning("Could not queue the fetch of location %s*%s*%s for %s", country_code, party_id, location_id, partner, exc_info=True)
        return False
    return True


def _fetches_this_minute(partner: Partner) -> int:
    """Count one more fetch of the partner's in its current window (a minute from the window's
    first fetch), and say how many that makes."""
    counter = f"ocpi:fetches:{partner.pk}"
    cache.add(counter, 0, 60)
    try:
        return int(cache.incr(counter))
    except ValueError:  # the window ended between the two calls: this fetch opens the next
        cache.add(counter, 1, 60)
        return 1


def fetch_location(*, partner: Partner, country_code: str, party_id: str, location_id: str) -> str:
    """GET one Location from the partner's Sender and store it like a pulled one. Says what happened."""
    url = partner.endpoint_url("locations", "SENDER")
    if not url:
        return "skipped: the partner publishes no Locations Sender endpoint"
    if not partner.may_act_for(country_code, party_id):
        return f"skipped: {country_code}*{party_id} is not one of the partner's parties"
    wanted = f"{country_code}*{party_id}*{location_id}"
    try:
        with OcpiClient(partner.outbound_token, base64_token=partner.token_base64) as client:
            response = client.request(
                "GET",
                f"{url.rstrip('/')}/{quote(location_id, safe='')}",
                routing=Routing(to_country_code=country_code, to_party_id=party_id),
            )
    except TransportError as error:
        partner.record_error(f"locations: fetching {wanted}: {error.message}")
        return f"failed: {error.message}"
    if response.data is None:
        partner.record_error(f"locations: fetching {wanted}: the partner answered without the location")
        return "failed: the partner answered without the location"
    decoded = decode_object(response.data, kind="locations")
    if isinstance(decoded, Reject):
        return _refuse(partner, location_id, decoded.reason, decoded.raw)
    location, sent = decoded.obj, storable(decoded.as_sent)
    if not (
        ci_equal(location.country_code, country_code) and ci_equal(location.party_id, party_id) and ci_equal(location.id, location_id)
    ):
        got = f"{location.country_code}*{location.party_id}*{location.id}"
        return _refuse(partner, location_id, f"asked for location {wanted}, the partner answered with {got}", sent)
    try:
        with transaction.atomic():  # the location and its repair record together, as a sync page
            # The same version replaces ours too: we asked because our copy of it is known to be
            # behind (an EVSE it lacks), and the CPO's Sender is the authority on what it holds.
            result = network.store_locations(partner=partner, locations=[location], sources=[decoded.source], replace_equal=True)
            if decoded.warnings and not result.refused:
                network.record_repairs(
                    partner=partner, module="locations", repairs=[(location.id, list(decoded.warnings), sent)]
                )
    except network.UNWRITABLE as error:  # a value our encoder cannot write
        return _refuse(partner, location_id, f"cannot be stored: {error}", sent)
    if result.refused:
        return _refuse(partner, location_id, "held for another OCPI connection that also represents its party", sent)
    partner.record_contact()
    if result.stored:
        return f"stored: {wanted} as of {format_datetime(location.last_updated)}"
    return f"unchanged: we hold {wanted} as of this version or a newer one"


def _refuse(partner: Partner, location_id: str, reason: str, raw: Any) -> str:
    network.quarantine(partner=partner, module="locations", rejects=[(location_id, reason, raw)])
    return f"quarantined: {reason}"
