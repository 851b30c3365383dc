from django.core.management.base import BaseCommand, CommandError

from roaming.models import Partner
from roaming.services.credentials import RegistrationError, register_with_partner


class Command(BaseCommand):
    help = "Open an OCPI 2.2.1 connection with a CPO or hub that gave us its versions URL and a token A."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("versions_url", help="The partner's OCPI versions endpoint")
        parser.add_argument(
            "token_a",
            help="The registration token (token A) the partner gave us. If it starts with '-', put -- before the arguments.",
        )
        parser.add_argument("--name", default="", help="A name for staff (default: the partner's business name)")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="If we are already connected to this versions URL (the partner lost our registration), forget that connection first",
        )

    def handle(self, *args, versions_url: str, token_a: str, name: str, replace: bool, **options) -> None:  # type: ignore[no-untyped-def]
        if replace:
            for old in Partner.objects.filter(versions_url=versions_url, status=Partner.Status.CONNECTED):
                old.revoke_tokens()
                old.status = Partner.Status.UNREGISTERED
                old.save()
                self.stdout.write(f"Forgot the previous connection (partner #{old.pk}).")
        self.stdout.write(f"Reading {versions_url} …")
        try:
            partner = register_with_partner(versions_url=versions_url, token_a=token_a, name=name)
        except RegistrationError as error:
            raise CommandError(f"Registration failed: {error.message}") from error
        roles = ", ".join(f"{r.country_code}*{r.party_id} {r.role}" for r in partner.roles.all())
        modules = ", ".join(sorted({f"{e.identifier}/{e.role.lower()}" for e in partner.endpoints.all()}))
        self.stdout.write(self.style.SUCCESS(f"Connected to {partner.name} (partner #{partner.pk}) with OCPI {partner.version}."))
        self.stdout.write(f"  parties:   {roles}")
        self.stdout.write(f"  endpoints: {modules}")
        self.stdout.write(f"  token encoding: {'Base64' if partner.token_base64 else 'raw (peer refused Base64)'}")
