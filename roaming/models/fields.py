"""Model fields of the roaming app.

`EncryptedTokenField` keeps a secret we must be able to send (a partner's token for our calls to
them) encrypted in the database: a copy of the database alone does not let anyone call a CPO as
us (and, say, start or stop its chargers). In Python the attribute is the plain token; only the
column holds ciphertext (Fernet: AES-128-CBC with an HMAC, random IV, so equal tokens differ).

The key derives from Django's SECRET_KEY; values written under a former key still read while it is
listed in SECRET_KEY_FALLBACKS and are re-encrypted under the current key when next saved. A value
that no key opens (the key was lost) reads as empty, with an error logged that says what to do:
the partner then looks like it holds no token, and its calls fail with a clear message. Values
stored before encryption (no prefix) are read as they are and encrypted when next saved.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

PREFIX = "fernet:"

_fernets: dict[tuple[str, ...], MultiFernet] = {}


def _fernet() -> MultiFernet:
    secrets = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    fernet = _fernets.get(secrets)
    if fernet is None:
        keys = [Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"ocpi-token:" + s.encode()).digest())) for s in secrets]
        fernet = _fernets[secrets] = MultiFernet(keys)
    return fernet


def encrypt_token(token: str) -> str:
    return PREFIX + _fernet().encrypt(token.encode()).decode() if token else ""


def decrypt_token(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        logger.error(
            "A stored partner token cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS (was the key"
            " changed?). Put the former key in DJANGO_SECRET_KEY_FALLBACKS, or register the partner again."
        )
        return ""


class EncryptedTokenField(models.CharField):
    """A CharField whose column holds the value encrypted (see the module docstring)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if value is None else decrypt_token(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value if value is None else encrypt_token(value)
