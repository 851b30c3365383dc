"""Inbound `Authorization: Token …` parsing.

2.2.1 peers send `Token base64(token)`; many 2.1.1/2.2 peers send the raw token. We try both
readings: a base64 string that decodes to printable ASCII is a candidate, and so is the raw
value. Tokens are 256-bit random strings, so the two readings cannot collide with another
partner's token in practice.
"""

from __future__ import annotations

import base64
import binascii
import secrets

_PRINTABLE = set(range(0x21, 0x7F))


def new_token() -> str:
    """A fresh credentials token: 256 random bits, URL-safe, ≤ 64 characters (2.2.1 §3.2).

    It never starts with "-" or "_": a token that begins with a dash reads as an option on a
    command line (`ocpi_register URL -abc…` would fail), and partners paste our tokens into
    theirs.
    """
    while True:
        token = secrets.token_urlsafe(32)
        if token[0].isalnum():
            return token


def encode_token(token: str, *, base64_encode: bool = True) -> str:
    if not base64_encode:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def token_candidates(header: str | None) -> list[str]:
    """The tokens an Authorization header may carry; [] when it is missing or not a Token header."""
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value or len(value) > 200:
        return []
    candidates = [value]
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return candidates
    if decoded and all(byte in _PRINTABLE for byte in decoded.rstrip(b"\n")):
        # Some peers encode a trailing newline (as the spec's own example does).
        candidates.insert(0, decoded.rstrip(b"\n").decode("ascii"))
    return candidates
