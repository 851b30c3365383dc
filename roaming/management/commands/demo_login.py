"""Create (once) and print the demo's staff login. The password is kept in var/ so reruns print the same."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo staff user if needed and print its login."

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        path = settings.VAR_DIR / "demo-login.txt"
        User = get_user_model()
        email = "staff@example.com"
        if path.exists() and User.objects.filter(username="staff").exists():
            password = path.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            user, _ = User.objects.get_or_create(username="staff", defaults={"email": email})
            user.email, user.is_staff, user.is_superuser = email, True, True
            user.set_password(password)
            user.save()
            path.write_text(password + "\n")
            path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Staff login: username 'staff' (email {email}), password '{password}'"))
