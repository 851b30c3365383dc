"""OCPI 2.2.1 wire models for the versions and credentials modules (checklist §3).

URLs here must be http(s): we call them with our token.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from roaming.ocpi.v221.common import BusinessDetails, OcpiEnum, Role

CredentialsToken = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]
Url = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^https?://\S+$")]
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
PartyId = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Za-z0-9]{3}$")]


class _Wire(BaseModel):
    # Unknown fields are ignored (2.3.0 makes that a rule; 2.2.1 peers already send extras).
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class InterfaceRole(OcpiEnum):
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Version(_Wire):
    version: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    url: Url


class Endpoint(_Wire):
    identifier: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    role: InterfaceRole
    url: Url


class VersionDetails(_Wire):
    version: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    endpoints: list[Endpoint] = Field(min_length=1)

    def find(self, identifier: str, role: InterfaceRole | None = None) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.identifier == identifier and (role is None or endpoint.role == role):
                return endpoint
        return None


class CredentialsRole(_Wire):
    role: Role
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode

    @field_validator("party_id", "country_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class Credentials(_Wire):
    token: CredentialsToken
    url: Url
    roles: list[CredentialsRole] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[CredentialsRole]) -> list[CredentialsRole]:
        keys = [(r.role, r.country_code, r.party_id) for r in roles]
        if len(keys) != len(set(keys)):
            raise ValueError("each (role, country_code, party_id) may appear only once")
        return roles
