"""The OCPI response envelope, the status codes, and the one error type views raise.

Every OCPI response, success or failure, is `{data?, status_code, status_message?, timestamp}`.
HTTP status codes follow the checklist §2.2: a well-formed, authenticated request to an existing
resource gets HTTP 200 with the OCPI status in the envelope; the spec's explicit exceptions
(401, 404, 405, invalid JSON → 400, too large → 413) carry the envelope too.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.http import HttpResponse


class Status:
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003
    HUB_ERROR = 4000
    UNKNOWN_RECEIVER = 4001
    HUB_TIMEOUT = 4002
    HUB_CONNECTION_PROBLEM = 4003


def format_datetime(value: dt.datetime) -> str:
    """OCPI DateTime: UTC, second precision, trailing Z (never '+00:00')."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() else float(str(value))
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def envelope(
    data: Any = None, *, status_code: int = Status.SUCCESS, message: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    body["status_code"] = status_code
    if message:
        body["status_message"] = message
    body["timestamp"] = format_datetime(dt.datetime.now(dt.UTC))
    return body


def ocpi_response(
    data: Any = None,
    *,
    status_code: int = Status.SUCCESS,
    message: str | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    response = HttpResponse(
        dumps(envelope(data, status_code=status_code, message=message)),
        status=http_status,
        content_type="application/json",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class OcpiError(Exception):
    """An error answered to the caller as an OCPI envelope (never a bare HTTP error page)."""

    def __init__(
        self, message: str, *, status_code: int = Status.CLIENT_ERROR, http_status: int = 200
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.http_status = http_status

    def response(self) -> HttpResponse:
        return ocpi_response(status_code=self.status_code, message=self.message, http_status=self.http_status)


class InvalidParameters(OcpiError):
    def __init__(self, message: str, *, http_status: int = 200) -> None:
        super().__init__(message, status_code=Status.INVALID_PARAMETERS, http_status=http_status)


class Unauthorized(OcpiError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=Status.CLIENT_ERROR, http_status=401)


class NotFound(OcpiError):
    def __init__(self, message: str, *, status_code: int = Status.CLIENT_ERROR) -> None:
        super().__init__(message, status_code=status_code, http_status=404)


class MethodNotAllowed(OcpiError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=Status.CLIENT_ERROR, http_status=405)


def validation_message(exc: Exception) -> str:
    """A pydantic ValidationError as one readable line that names each field path."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors()[:10]:
        path = ".".join(str(p) for p in error.get("loc", ())) or "(body)"
        parts.append(f"{path}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
