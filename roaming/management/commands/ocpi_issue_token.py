from django.core.management.base import BaseCommand

from roaming.services.credentials import issue_registration_token, our_versions_url


class Command(BaseCommand):
    help = "Print a one-time token A and our versions URL for a partner who starts the OCPI handshake."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--name", required=True, help="Who the token is for (shown to staff)")

    def handle(self, *args, name: str, **options) -> None:  # type: ignore[no-untyped-def]
        partner, token_a = issue_registration_token(name=name)
        self.stdout.write(f"Partner #{partner.pk} ({name}) may now register with us.")
        self.stdout.write("Send these to the partner over a secure channel; the token is shown only this once:")
        self.stdout.write(f"  versions URL: {our_versions_url()}")
        self.stdout.write(f"  token A:      {token_a}")
        self.stdout.write("Token A works on versions and credentials only, and dies when the partner registers.")
