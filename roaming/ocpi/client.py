"""The one outbound HTTP module of the roaming app (STYLE §5).

Every call to a partner goes through `OcpiClient.request`: timeouts always (connect, read and an
overall deadline, so a server that drips bytes cannot hold a worker), bounded retries with
exponential backoff on what retrying can fix (connection errors, timeouts, 5xx, 429), and one
error type, `TransportError`, whose `permanent` flag says whether a retry can help.
Logs name the method, URL, status and duration, never a header or a token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import functools
import json
import logging
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import certifi
import httpx
from django.conf import settings

from roaming.ocpi.auth import encode_token
from roaming.ocpi.jsontext import JsonLimitError, load_json

logger = logging.getLogger("roaming.ocpi.outbound")

MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class TransportError(Exception):
    """A call to a partner failed. `permanent=False` means the same call may work later."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        http_status: int | None = None,
        ocpi_status: int | None = None,
        url: str = "",
        retry_after: float | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        # The request never reached the partner (no connection): sending it again cannot repeat it.
        self.unsent = unsent
        self.http_status = http_status
        self.ocpi_status = ocpi_status
        self.url = url
        # Seconds the partner asked us to wait (its Retry-After header), if it said.
        self.retry_after = retry_after


@dataclass
class OcpiResponse:
    http_status: int
    status_code: int | None
    status_message: str | None
    data: Any
    headers: httpx.Headers
    url: str
    body_bytes: bytes = field(repr=False, default=b"")

    @property
    def next_link(self) -> str | None:
        """The `rel="next"` target, made absolute (a relative reference resolves against this page's URL)."""
        link = self.headers.get("Link")
        if not link:
            return None
        for target, params in _LINK.findall(link):
            for name, quoted, bare in _LINK_PARAM.findall(params):
                # RFC 8288: parameter names and relation types are case-insensitive, and rel may
                # hold several relation types separated by spaces.
                # Single quotes are not RFC 8288's, but servers send rel='next': unambiguous.
                if name.lower() == "rel" and "next" in (quoted or bare.strip("'")).lower().split():
                    return urljoin(self.url, target.strip())
        return None

    @property
    def total_count(self) -> int | None:
        """X-Total-Count, for display only: None when absent, not a number, or beyond belief."""
        value = (self.headers.get("X-Total-Count") or "").strip()
        if not value.isdigit() or len(value) > 9:  # shown and stored, never trusted: 10^9 objects is no CPO
            return None
        return int(value)


# A Link header's link-values (RFC 8288 §3): <target> then ;-separated parameters. The target is
# taken whole between the brackets, so a comma inside it (…?fields=id,evses) does not split it.
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,<=]*(?:=\s*(?:"[^"]*"|[^;,<]*))?)*)')
_LINK_PARAM = re.compile(r';\s*([^=;,\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,\s]*)))?')


@dataclass
class Routing:
    """OCPI-from/to headers for functional modules (never on versions/credentials)."""

    to_country_code: str
    to_party_id: str

    def headers(self) -> dict[str, str]:
        return {
            "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
            "OCPI-from-party-id": settings.OCPI_PARTY_ID,
            "OCPI-to-country-code": self.to_country_code,
            "OCPI-to-party-id": self.to_party_id,
        }


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle costs ~40 ms, which a
    client per sync run, registration or push would otherwise pay each time."""
    return ssl.create_default_context(cafile=certifi.where())


class _Transport(httpx.BaseTransport):
    """httpx's own transport, built when first needed: plain HTTP (a simulator, a peer on a
    private network) never loads the CA bundle; HTTPS shares one verifying context."""

    def __init__(self) -> None:
        self._plain: httpx.HTTPTransport | None = None
        self._tls: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            if self._tls is None:
                self._tls = httpx.HTTPTransport(verify=_tls_context())
            return self._tls.handle_request(request)
        if self._plain is None:
            # Nothing to verify on plain HTTP; redirects are not followed, so it cannot turn into HTTPS.
            self._plain = httpx.HTTPTransport(verify=False)  # noqa: S501
        return self._plain.handle_request(request)

    def close(self) -> None:
        for transport in (self._plain, self._tls):
            if transport is not None:
                transport.close()


class OcpiClient:
    def __init__(
        self,
        token: str,
        *,
        base64_token: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._authorization = encode_token(token, base64_encode=base64_token)
        self.timeout = timeout if timeout is not None else settings.OCPI_HTTP_TIMEOUT
        self.retries = retries if retries is not None else settings.OCPI_HTTP_RETRIES
        self.backoff = backoff if backoff is not None else settings.OCPI_HTTP_BACKOFF
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            follow_redirects=False,
            transport=transport or _Transport(),
            headers={"User-Agent": "open-emsp/0.1 (+OCPI 2.2.1)"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OcpiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        routing: Routing | None = None,
        correlation_id: str | None = None,
        parse: bool = True,
        idempotent: bool = True,
    ) -> OcpiResponse:
        """One OCPI call with retries. Raises TransportError when it cannot succeed.

        `idempotent=False` (a credentials POST: token A works once) retries only a request that
        never reached the partner: one that timed out or failed after it was sent may have been
        taken, and sending it again would be answered as a second one.

        `parse=False` leaves a success body unparsed (`data` is None, `body_bytes` holds it) for a
        caller that decodes it itself, such as the sync's tolerant page decoder: parsing a 2 MB
        page twice costs as much as storing it.
        """
        correlation_id = correlation_id or str(uuid.uuid4())
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(method, url, json_body, params, routing, correlation_id, parse)
            except TransportError as error:
                if error.permanent or attempt > self.retries or not (idempotent or error.unsent):
                    raise
                delay = self.backoff * (2 ** (attempt - 1))
                if error.retry_after is not None:
                    # The partner said when to come back: not sooner. Longer than we wait in a
                    # call is for the caller to schedule (the sync task's retry countdown).
                    if error.retry_after > settings.OCPI_HTTP_MAX_RETRY_AFTER:
                        raise
                    delay = max(delay, error.retry_after)
                logger.warning(
                    "OCPI out %s %s failed (%s); retry %d in %.1fs",
                    method,
                    url,
                    error.message,
                    attempt,
                    delay,
                )
                time.sleep(delay)
                continue
            # 1xxx is success; a body without an envelope (status_code None) is judged by its caller.
            if response.status_code is not None and not 1000 <= response.status_code < 2000:
                raise TransportError(
                    f"{method} {url}: OCPI status {response.status_code} {response.status_message or ''}".strip(),
                    permanent=response.status_code < 3000,
                    http_status=response.http_status,
                    ocpi_status=response.status_code,
                    url=url,
                )
            return response

    def _send_once(
        self,
        method: str,
        url: str,
        json_body: Any,
        params: dict[str, Any] | None,
        routing: Routing | None,
        correlation_id: str,
        parse: bool = True,
    ) -> OcpiResponse:
        headers = {
            "Authorization": self._authorization,
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id,
            "Accept": "application/json",
        }
        if routing:
            headers.update(routing.headers())
        content = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(json_body, separators=(",", ":"), default=str).encode("utf-8")
        started = time.monotonic()
        deadline = started + self.timeout * 3
        try:
            with self._http.stream(method, url, params=params, content=content, headers=headers) as raw:
                chunks = []
                size = 0
                for chunk in raw.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise TransportError(
                            f"{method} {url}: response larger than {MAX_RESPONSE_BYTES} bytes",
                            permanent=True,
                            url=url,
                        )
                    if time.monotonic() > deadline:
                        raise TransportError(
                            f"{method} {url}: response too slow (deadline passed)", permanent=False, url=url
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                http_status = raw.status_code
                response_headers = raw.headers
        except httpx.TimeoutException as exc:
            raise TransportError(
                f"{method} {url}: timed out ({type(exc).__name__})",
                permanent=False,
                url=url,
                unsent=isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout),
            ) from exc
        except httpx.HTTPError as exc:
            reason = _certificate_failure(exc)
            if reason is not None:  # the same certificate fails the same way: no point in retrying
                raise TransportError(
                    f"{method} {url}: the partner's TLS certificate was refused ({reason})", permanent=True, url=url
                ) from exc
            raise TransportError(
                f"{method} {url}: {type(exc).__name__}: {exc}", permanent=False, url=url, unsent=isinstance(exc, httpx.ConnectError)
            ) from exc
        logger.info(
            "OCPI out %s %s -> %s %.0fms", method, url, http_status, (time.monotonic() - started) * 1000
        )
        return _parse(method, url, http_status, response_headers, body, parse)


# Beyond a day a Retry-After is a sender's error (or a date in the past century): not honoured.
_LONGEST_RETRY_AFTER = 86_400


def retry_after(headers: httpx.Headers) -> float | None:
    """The seconds a 429 or 5xx answer's `Retry-After` asks us to wait (RFC 9110 §10.2.3: whole
    seconds, or an HTTP date); None when absent, unreadable or absurd."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > 9:  # more digits than a day has seconds, and than float() should be given
            return None
        seconds = float(value)
    else:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # "-0000": UTC as HTTP dates are
            moment = moment.replace(tzinfo=dt.UTC)
        seconds = max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
    return seconds if seconds <= _LONGEST_RETRY_AFTER else None


def _asked_to_wait(seconds: float | None) -> str:
    return "" if seconds is None else f" (the partner asked us to retry after {seconds:.0f} s)"


def _certificate_failure(error: BaseException) -> str | None:
    """Why TLS verification refused the peer's certificate, if that is what `error` comes from."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
        cause = cause.__cause__ or cause.__context__
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(error) else None


def _parse(method: str, url: str, http_status: int, headers: httpx.Headers, body: bytes, parse: bool = True) -> OcpiResponse:
    retryable = http_status >= 500 or http_status == 429
    if http_status in (401, 403):
        raise TransportError(
            f"{method} {url}: HTTP {http_status}, the partner refused our credentials",
            permanent=True,
            http_status=http_status,
            url=url,
        )
    if 300 <= http_status < 400:
        raise TransportError(
            f"{method} {url}: HTTP {http_status} redirect to {headers.get('Location', '?')} (not followed)",
            permanent=True,
            http_status=http_status,
            url=url,
        )
    if not parse and 200 <= http_status < 300:
        if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
            raise TransportError(f"{method} {url}: HTTP {http_status}, response is HTML", permanent=True, url=url)
        return OcpiResponse(http_status, None, None, None, headers, url, body)
    try:
        payload = load_json(body.decode("utf-8-sig")) if body.strip() else None
    except JsonLimitError as exc:  # well-formed but beyond reading: asking again will not change it
        raise TransportError(
            f"{method} {url}: HTTP {http_status}, response cannot be read: {exc.msg}", permanent=True, http_status=http_status, url=url
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if http_status >= 400:
            # An error status with a web server's or proxy's own page (HTML, "404 page not
            # found"): the status is the answer. Permanent for a 4xx, retryable for a 5xx or 429.
            wait = retry_after(headers) if retryable else None
            raise TransportError(
                f"{method} {url}: HTTP {http_status}{_body_hint(body)}{_asked_to_wait(wait)}",
                permanent=not retryable,
                http_status=http_status,
                url=url,
                retry_after=wait,
            ) from exc
        is_html = body.lstrip()[:1] == b"<"
        # HTML is a web server or proxy page: asking again will not change it. Broken JSON on a
        # success status is usually a transfer cut short: another try can help.
        raise TransportError(
            f"{method} {url}: HTTP {http_status}, response is {'HTML' if is_html else 'not valid JSON'} ({exc})",
            permanent=is_html,
            http_status=http_status,
            url=url,
        ) from exc
    if retryable:
        wait = retry_after(headers)
        raise TransportError(
            f"{method} {url}: HTTP {http_status}{_asked_to_wait(wait)}",
            permanent=False,
            http_status=http_status,
            url=url,
            retry_after=wait,
        )
    if isinstance(payload, dict) and ("status_code" in payload or "data" in payload):
        status_code = payload.get("status_code")
        if http_status >= 400:
            # A client error is permanent whatever the envelope inside says: a 3xxx code (which
            # alone would be retried) or even 1000 with data (which must not be read as a page).
            said = f", OCPI status {status_code} {payload.get('status_message') or ''}".rstrip() if status_code is not None else ""
            raise TransportError(
                f"{method} {url}: HTTP {http_status}{said}",
                permanent=True,
                http_status=http_status,
                ocpi_status=status_code if isinstance(status_code, int) else None,
                url=url,
            )
        return OcpiResponse(
            http_status=http_status,
            status_code=status_code if isinstance(status_code, int) else None,
            status_message=payload.get("status_message"),
            data=payload.get("data"),
            headers=headers,
            url=url,
            body_bytes=body,
        )
    if http_status >= 400:
        raise TransportError(
            f"{method} {url}: HTTP {http_status}", permanent=True, http_status=http_status, url=url
        )
    # Real feeds sometimes send the bare data without the envelope (a list, an object).
    return OcpiResponse(http_status, None, None, payload, headers, url, body)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None, bool]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # not a port number: no origin we would call
        port = -1
    has_userinfo = "@" in parts.netloc
    return scheme, (parts.hostname or "").lower(), port, has_userinfo


def _origin_text(url: str) -> str:
    """scheme://host:port as `same_origin` compares them, for a message that shows the difference."""
    scheme, host, port, _ = _origin(url)
    return f"{scheme}://{host}:{port}" if scheme and host else url


def _body_hint(body: bytes) -> str:
    """The start of a short plain-text error body, for the reason recorded ("404 page not found")."""
    text = body[:200].decode("utf-8", "replace").strip()
    if not text or text.startswith("<") or len(text) > 120:
        return ""
    return f" ({' '.join(text.split())})"


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs have the same scheme, host and port (a default port spelled out or not).
    A URL with user information never matches: it is how a host is disguised as another."""
    first, second = _origin(url), _origin(other)
    return not first[3] and not second[3] and first[:3] == second[:3]


def _page_key(url: str, params: dict[str, Any] | None) -> tuple[Any, ...]:
    """A page's address however it is spelled: its origin as `same_origin` compares it, its path
    and its query parameters (with `params`) in any order and escaping. A Link back to a page
    already read, respelled, would have stored it twice and counted its objects twice."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(name, str(value)) for name, value in (params or {}).items()]
    return (*_origin(url), unquote(parts.path).rstrip("/"), tuple(sorted(query)))


def iterate_pages(
    client: OcpiClient,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    routing: Routing | None = None,
    max_pages: int | None = None,
    parse: bool = True,
) -> Iterator[OcpiResponse]:
    """Follow a Sender's `Link: rel="next"` until it is gone.

    Guards: a next link must stay on the first page's scheme and host (a partner cannot make us
    call a third party with our token), a page seen before ends the loop with an error, however
    its URL is spelled, and so does passing `max_pages`.
    """
    max_pages = max_pages or settings.OCPI_MAX_PAGES
    seen: set[tuple[Any, ...]] = set()
    next_url: str | None = url
    next_params = params
    pages = 0
    while next_url:
        key = _page_key(next_url, next_params)
        if key in seen:
            raise TransportError(
                f"pagination loop: {next_url} was already fetched", permanent=True, url=next_url
            )
        seen.add(key)
        pages += 1
        if pages > max_pages:
            raise TransportError(
                f"pagination did not end after {max_pages} pages", permanent=True, url=next_url
            )
        response = client.request("GET", next_url, params=next_params, routing=routing, parse=parse)
        link = response.next_link
        if link and not same_origin(link, url):
            # The page itself is good and is handed on, but without its Link: the caller records
            # the next link as where to resume, and a link to another host must never become that.
            headers = httpx.Headers([(name, value) for name, value in response.headers.multi_items() if name.lower() != "link"])
            yield dataclasses.replace(response, headers=headers)
            raise TransportError(
                f"pagination Link points to another host ({_origin_text(link)}, not {_origin_text(url)}); refusing to follow it",
                permanent=True,
                url=link,
            )
        yield response
        next_url, next_params = link, None
