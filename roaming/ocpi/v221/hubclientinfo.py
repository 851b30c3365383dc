"""OCPI 2.2.1 wire model of the HubClientInfo module (checklist §10): the parties a roaming hub
connects us to, and whether it can reach each of them now."""

from __future__ import annotations

from roaming.ocpi.v221.common import CountryCode, LastUpdated, OcpiEnum, OcpiModel, PartyId, Role


class ConnectionStatus(OcpiEnum):
    CONNECTED = "CONNECTED"
    OFFLINE = "OFFLINE"
    PLANNED = "PLANNED"
    SUSPENDED = "SUSPENDED"


class ClientInfo(OcpiModel):
    party_id: PartyId
    country_code: CountryCode
    role: Role
    status: ConnectionStatus
    last_updated: LastUpdated
