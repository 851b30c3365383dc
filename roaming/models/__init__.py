"""Roaming models, split by subdomain (partners; locations and tariffs; sync runs).

The app outgrows one module quickly (STYLE §1): partners and their credentials are one
subdomain, the aggregated charging network another, sync bookkeeping a third.
"""

from .network import (
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
from .partners import HubClient, Partner, PartnerEndpoint, PartnerRole, hash_token

__all__ = [
    "EVSE",
    "Connector",
    "HubClient",
    "Location",
    "Partner",
    "PartnerEndpoint",
    "PartnerRole",
    "QuarantinedObject",
    "RepairedObject",
    "SyncRun",
    "Tariff",
    "TariffVersion",
    "TariffWithdrawal",
    "hash_token",
]
