"""Keep credentials tokens out of every log line.

OCPI tokens travel in `Authorization: Token …` headers and in credentials bodies
(`"token": "…"`). The filter rewrites both shapes wherever they appear in a record.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?Token\s+)[^\s'\",}]+", re.IGNORECASE), r"\1[redacted]"),
    (re.compile(r"(Token\s+)[A-Za-z0-9+/=_\-.~]{8,}", re.IGNORECASE), r"\1[redacted]"),
    (re.compile(r"(['\"]token['\"]\s*:\s*['\"])[^'\"]+(['\"])", re.IGNORECASE), r"\1[redacted]\2"),
    (re.compile(r"(\b(?:sk|rk|whsec)_[A-Za-z0-9_]{3})[A-Za-z0-9_]+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
