"""The decorator every OCPI view goes through.

It owns what is the same for all modules: authentication (and token A's narrow scope), request
and correlation ids, routing headers on functional modules, body size and JSON parsing, and
turning every error into an OCPI envelope. Views receive an `OcpiRequest` and return data.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from roaming.models import Partner, hash_token
from roaming.ocpi.auth import token_candidates
from roaming.ocpi.envelope import (
    InvalidParameters,
    MethodNotAllowed,
    OcpiError,
    Status,
    Unauthorized,
    ocpi_response,
    validation_message,
)
from roaming.ocpi.jsontext import JsonLimitError, load_json
from roaming.ocpi.v221.feeds import MAX_DEPTH, FloatReader, NonFinite, may_be_unstorable, unstorable

logger = logging.getLogger("roaming.ocpi.inbound")

CONFIGURATION_MODULES = {"versions", "credentials", "hubclientinfo"}


@dataclass
class OcpiRequest:
    http: HttpRequest
    partner: Partner
    token: str
    module: str
    request_id: str
    correlation_id: str
    from_country_code: str = ""
    from_party_id: str = ""
    _body: Any = field(default=None, repr=False)
    _body_read: bool = False

    @property
    def method(self) -> str:
        return self.http.method or "GET"

    def json(self) -> Any:
        """The parsed JSON body. Invalid JSON is HTTP 400 with status 2001 (checklist §2.2)."""
        if self._body_read:
            return self._body
        raw = self.http.body
        if not raw.strip():
            raise InvalidParameters("The request has no body; a JSON object is required.", http_status=400)
        floats = FloatReader()
        try:
            self._body = load_json(raw.decode("utf-8-sig"), parse_constant=NonFinite, parse_float=floats)
        except JsonLimitError as exc:
            raise InvalidParameters(f"The body cannot be read: {exc.msg}.", http_status=400) from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidParameters(f"The body is not valid JSON: {exc}", http_status=400) from exc
        nests = raw.count(b"{") + raw.count(b"[") > MAX_DEPTH  # only then can it nest too deep
        if (floats.overflowed or nests or may_be_unstorable(raw)) and (why := unstorable(self._body)) is not None:
            raise InvalidParameters(f"{why}.")
        self._body_read = True
        return self._body


@dataclass
class Result:
    """What a view returns: data for the envelope, plus HTTP details."""

    data: Any = None
    http_status: int = 200
    status_code: int = Status.SUCCESS
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _check_body_size(request: HttpRequest) -> None:
    limit = settings.OCPI_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise InvalidParameters(
            f"The request body is {declared} bytes; the limit is {limit} bytes.", http_status=413
        )


def ocpi_view(*, module: str, methods: tuple[str, ...], registration_token: bool = False) -> Callable:
    """Wrap an OCPI view: `view(ocpi: OcpiRequest, **url_kwargs) -> Result | Any`."""

    functional = module not in CONFIGURATION_MODULES

    def decorator(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            started = time.monotonic()
            request_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
            correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
            ocpi: OcpiRequest | None = None
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(f"{request.method} is not supported on this {module} endpoint.")
                candidates = token_candidates(request.headers.get("Authorization"))
                if not candidates:
                    raise Unauthorized(
                        "Missing or malformed Authorization header; expected 'Token <base64 token>'."
                    )
                partner = Partner.authenticate(candidates)
                if partner is None or partner.status in (
                    Partner.Status.SUSPENDED,
                    Partner.Status.UNREGISTERED,
                ):
                    raise Unauthorized("Unknown or revoked credentials token.")
                if partner.inbound_token_is_registration and not registration_token:
                    raise Unauthorized(
                        "A registration token (token A) is only valid on versions and credentials."
                    )
                _check_body_size(request)
                token = next(c for c in candidates if hash_token(c) == partner.inbound_token_hash)
                ocpi = OcpiRequest(
                    http=request,
                    partner=partner,
                    token=token,
                    module=module,
                    request_id=request_id,
                    correlation_id=correlation_id,
                    from_country_code=request.headers.get("OCPI-from-country-code", ""),
                    from_party_id=request.headers.get("OCPI-from-party-id", ""),
                )
                _check_url_ids(kwargs)
                outcome = view(ocpi, **kwargs)
                result = outcome if isinstance(outcome, Result) else Result(data=outcome)
                response = ocpi_response(
                    result.data,
                    status_code=result.status_code,
                    message=result.message,
                    http_status=result.http_status,
                    headers=result.headers,
                )
                partner.record_contact()
            except OcpiError as exc:
                response = exc.response()
            except ValidationError as exc:
                response = InvalidParameters(validation_message(exc)).response()
            except Exception:  # a bug of ours: the caller still gets an envelope, we get the traceback
                logger.exception("OCPI %s %s failed", request.method, request.path)
                response = ocpi_response(
                    status_code=Status.SERVER_ERROR,
                    message="Internal error; it has been logged.",
                    http_status=500,
                )
            response["X-Request-ID"] = request_id
            response["X-Correlation-ID"] = correlation_id
            if functional:
                _set_routing_headers(response, request)
            logger.info(
                "OCPI in %s %s -> %s (%s) partner=%s %.0fms",
                request.method,
                request.path,
                response.status_code,
                module,
                ocpi.partner.pk if ocpi else "-",
                (time.monotonic() - started) * 1000,
            )
            return response

        return wrapper

    return decorator


def _check_url_ids(kwargs: dict[str, Any]) -> None:
    """No OCPI id holds a NUL character, and PostgreSQL text cannot even be compared with one."""
    for name, value in kwargs.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidParameters(f"The URL's {name} contains a NUL character (%00), which no OCPI id can hold.")


def _set_routing_headers(response: HttpResponse, request: HttpRequest) -> None:
    """Responses swap the request's from/to (checklist §2.1); we are the default 'from'."""
    response["OCPI-from-country-code"] = (
        request.headers.get("OCPI-to-country-code") or settings.OCPI_COUNTRY_CODE
    )
    response["OCPI-from-party-id"] = request.headers.get("OCPI-to-party-id") or settings.OCPI_PARTY_ID
    if request.headers.get("OCPI-from-country-code"):
        response["OCPI-to-country-code"] = request.headers["OCPI-from-country-code"]
    if request.headers.get("OCPI-from-party-id"):
        response["OCPI-to-party-id"] = request.headers["OCPI-from-party-id"]
