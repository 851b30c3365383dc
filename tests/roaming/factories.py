from __future__ import annotations

import factory

from roaming.models import Partner


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"CPO {n}")
    status = Partner.Status.CONNECTED
    version = "2.2.1"
    versions_url = factory.Sequence(lambda n: f"http://cpo{n}.test/ocpi/versions")
    outbound_token = "outbound-secret-token"

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not create:
            return
        country_code, party_id = extracted or ("DE", "ABC")
        self.replace_roles([dict(role="CPO", country_code=country_code, party_id=party_id, business_name=self.name)])


def connected_partner(country_code: str = "DE", party_id: str = "ABC") -> tuple[Partner, str]:
    """A connected partner and the inbound token it calls us with."""
    partner = PartnerFactory(role=(country_code, party_id))
    token = partner.issue_inbound_token()
    partner.save()
    return partner, token
