"""A CPO that speaks OCPI 2.2.1 over real HTTP on loopback, for the demo, tests and benchmarks.

It is a separate server (stdlib `ThreadingHTTPServer`, no Django), so the eMSP is tested against
a counterpart it cannot reach into. It serves versions and credentials (both handshake
directions), the Locations and Tariffs Sender interfaces with pagination and `date_from`, and it
can push EVSE status PATCHes to the eMSP. `faults` lets a test make one endpoint misbehave the way
partner back ends do in the field (HTML, hangs, 500s, truncated JSON, JSON nested or numbered beyond
reading, endless paging, a Link to another host or relative to the page) — over the same real HTTP.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from roaming.ocpi.auth import new_token

logger = logging.getLogger("roaming.simulator")

VERSION = "2.2.1"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ocpi_datetime(value: str) -> dt.datetime:
    value = value.strip().replace(" ", "+")
    if value.endswith("Z"):
        value = value[:-1]
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _auth_header(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


def _token_from_header(header: str | None) -> list[str]:
    if not header or not header.lower().startswith("token "):
        return []
    value = header[6:].strip()
    candidates = [value]
    with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
        candidates.insert(0, base64.b64decode(value, validate=True).decode("ascii"))
    return candidates


class SimulatorError(Exception):
    pass


class CpoSimulator:
    """Start with `.start()`; `.base_url`, `.versions_url` and `.token_a` tell an eMSP how to connect."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        network: Any = None,
        token_a: str | None = None,
        country_code: str = "DE",
        party_id: str = "SIM",
        name: str = "Simulated CPO",
        page_limit: int = 500,
        extra_roles: list[dict[str, Any]] | None = None,
        hub_clients: list[dict[str, Any]] | None = None,
    ) -> None:
        self.network = network
        self.country_code = country_code
        self.party_id = party_id
        self.name = name
        self.page_limit = page_limit
        # A hub lists several parties (CredentialsRoles) behind one connection.
        self.extra_roles = extra_roles or []
        # A 2.2.1 roaming hub instead: its credentials name its own HUB role only, and the parties
        # behind it are these ClientInfo objects, served by a HubClientInfo Sender.
        self.hub_clients = hub_clients
        self.routing: list[tuple[str, str | None, str | None]] = []  # (path, OCPI-to-country-code, OCPI-to-party-id)
        self.token_a = token_a or new_token()
        self.faults: dict[str, str] = {}
        # Served verbatim as the single page of a list (real operator feeds, deviations and all).
        self.raw_pages: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path): what the eMSP asked, for tests
        self.lock = threading.RLock()
        self._inbound: dict[str, str] = {self.token_a: "A"}  # token -> "A" | "C"
        self.emsp: dict[str, Any] = {}  # versions_url, token (to call the eMSP), endpoints, roles
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # Life cycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/ocpi"

    @property
    def versions_url(self) -> str:
        return f"{self.base_url}/versions"

    def start(self) -> CpoSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="cpo-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def credentials_body(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": self.versions_url,
            "roles": [
                {
                    "role": "CPO" if self.hub_clients is None else "HUB",
                    "business_details": {"name": self.name},
                    "party_id": self.party_id,
                    "country_code": self.country_code,
                },
                *self.extra_roles,
            ],
        }

    def endpoints(self) -> list[dict[str, str]]:
        return [
            {
                "identifier": "credentials",
                "role": "RECEIVER",
                "url": f"{self.base_url}/{VERSION}/credentials",
            },
            {"identifier": "locations", "role": "SENDER", "url": f"{self.base_url}/{VERSION}/locations"},
            {"identifier": "tariffs", "role": "SENDER", "url": f"{self.base_url}/{VERSION}/tariffs"},
            *(
                []
                if self.hub_clients is None
                else [{"identifier": "hubclientinfo", "role": "SENDER", "url": f"{self.base_url}/{VERSION}/hubclientinfo"}]
            ),
        ]

    # As the credentials Sender: we register with an eMSP ------------------------------------

    def _discover_emsp(self, versions_url: str, token: str) -> list[dict[str, str]]:
        headers = {"Authorization": _auth_header(token)}
        try:
            with httpx.Client(timeout=10) as http:
                versions = http.get(versions_url, headers=headers).raise_for_status().json()["data"]
                chosen = next(v for v in versions if v["version"] == VERSION)
                return http.get(chosen["url"], headers=headers).raise_for_status().json()["data"]["endpoints"]
        except (httpx.HTTPError, ValueError, KeyError, StopIteration) as exc:
            raise SimulatorError(f"cannot read the eMSP's versions at {versions_url}: {exc}") from exc

    def register_with(self, versions_url: str, token_a: str) -> dict[str, Any]:
        """Run the handshake as Sender against an eMSP that gave us `token_a`."""
        endpoints = self._discover_emsp(versions_url, token_a)
        credentials_url = next(e["url"] for e in endpoints if e["identifier"] == "credentials")
        token_b = new_token()
        with self.lock:
            self._inbound[token_b] = "C"
        with httpx.Client(timeout=10) as http:
            response = http.post(
                credentials_url,
                headers={"Authorization": _auth_header(token_a)},
                json=self.credentials_body(token_b),
            )
        body = response.json()
        if response.status_code != 200 or body.get("status_code") != 1000:
            with self.lock:
                self._inbound.pop(token_b, None)
            raise SimulatorError(f"registration refused: HTTP {response.status_code} {body}")
        with self.lock:
            self.emsp = {
                "versions_url": versions_url,
                "token": body["data"]["token"],
                "endpoints": endpoints,
                "roles": body["data"]["roles"],
            }
        return body["data"]

    def rotate_credentials(self) -> dict[str, Any]:
        """PUT new credentials to the eMSP (as a CPO rotating its tokens)."""
        credentials_url = self.emsp_endpoint("credentials")
        if not credentials_url:
            raise SimulatorError("not registered with an eMSP")
        old = [t for t, kind in self._inbound.items() if kind == "C"]
        fresh = new_token()
        with self.lock:
            self._inbound[fresh] = "C"
        response = self.call_emsp("PUT", credentials_url, self.credentials_body(fresh))
        body = response.json()
        if response.status_code != 200 or body.get("status_code") != 1000:
            with self.lock:
                self._inbound.pop(fresh, None)
            raise SimulatorError(f"rotation refused: HTTP {response.status_code} {body}")
        with self.lock:
            for token in old:
                self._inbound.pop(token, None)
            self.emsp["token"] = body["data"]["token"]
        return body["data"]

    def emsp_endpoint(self, identifier: str) -> str | None:
        return next((e["url"] for e in self.emsp.get("endpoints", []) if e["identifier"] == identifier), None)

    def call_emsp(
        self, method: str, url: str, body: Any = None, *, token: str | None = None
    ) -> httpx.Response:
        with httpx.Client(timeout=10) as http:
            return http.request(
                method,
                url,
                json=body,
                headers={
                    "Authorization": _auth_header(token or self.emsp["token"]),
                    "OCPI-from-country-code": self.country_code,
                    "OCPI-from-party-id": self.party_id,
                },
            )

    def push_client_info(self, info: dict[str, Any]) -> httpx.Response:
        """As a hub: PUT one ClientInfo to the eMSP's HubClientInfo Receiver."""
        base = self.emsp_endpoint("hubclientinfo")
        if not base:
            raise SimulatorError("the eMSP published no hubclientinfo endpoint")
        return self.call_emsp("PUT", f"{base.rstrip('/')}/{info['country_code']}/{info['party_id']}", info)

    # Pushing status changes -------------------------------------------------------------------

    def push_status_changes(self, changes: list[Any], *, client: httpx.Client | None = None) -> list[int]:
        """PATCH each change to the eMSP's Locations Receiver; returns the HTTP statuses."""
        base = self.emsp_endpoint("locations")
        if not base:
            raise SimulatorError("the eMSP published no locations endpoint")
        own_client = client is None
        http = client or httpx.Client(timeout=10)
        statuses = []
        try:
            for change in changes:
                url = f"{base.rstrip('/')}/{self.country_code}/{self.party_id}/{change.location_id}/{change.evse_uid}"
                response = http.patch(
                    url,
                    json={"status": change.status, "last_updated": change.at.strftime("%Y-%m-%dT%H:%M:%SZ")},
                    headers={"Authorization": _auth_header(self.emsp["token"])},
                )
                statuses.append(response.status_code)
        finally:
            if own_client:
                http.close()
        return statuses

    # HTTP ------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                logger.debug("simulator: " + format, *args)

            def _dispatch(self) -> None:
                simulator._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

        return Handler

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if handler.headers.get("X-Request-ID"):
            handler.send_header("X-Request-ID", handler.headers["X-Request-ID"])
        if handler.headers.get("X-Correlation-ID"):
            handler.send_header("X-Correlation-ID", handler.headers["X-Correlation-ID"])
        handler.end_headers()
        handler.wfile.write(body)

    def _ok(
        self,
        handler: BaseHTTPRequestHandler,
        data: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"status_code": 1000, "timestamp": _now()}
        if data is not None:
            payload["data"] = data
        self._send(handler, status, payload, headers=headers)

    def _error(self, handler: BaseHTTPRequestHandler, http_status: int, code: int, message: str) -> None:
        self._send(
            handler, http_status, {"status_code": code, "status_message": message, "timestamp": _now()}
        )

    def _apply_fault(self, handler: BaseHTTPRequestHandler, area: str, query: dict[str, list[str]]) -> bool:
        """Misbehave on purpose. Returns True when the response has been sent (or dropped)."""
        fault = self.faults.get(area)
        if not fault:
            return False
        offset = int(query.get("offset", ["0"])[0] or 0)
        if fault == "html":
            self._send(
                handler, 200, raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        elif fault == "hang" or (fault == "hang_after_first_page" and offset > 0):
            time.sleep(float(self.faults.get("hang_seconds", "30")))
            self._send(handler, 504, raw=b"late")
        elif fault == "500" or (fault == "500_after_first_page" and offset > 0):
            self._send(handler, 500, raw=b"Internal Server Error", content_type="text/plain")
        elif fault in ("429_once", "503_once_retry_after"):
            # Rate limited / briefly down, with a Retry-After (seconds or an HTTP date) in faults["retry_after"].
            self.faults.pop(area)
            status = 429 if fault == "429_once" else 503
            self._send(handler, status, raw=b"Slow down", content_type="text/plain", headers={"Retry-After": self.faults.get("retry_after", "1")})
        elif fault == "500_once":
            self.faults.pop(area)
            self._send(handler, 503, raw=b"Service Unavailable", content_type="text/plain")
        elif fault == "down":
            handler.close_connection = True
            handler.connection.close()
        elif fault in ("deep_after_first_page", "long_number_after_first_page") and offset > 0:
            # Well-formed JSON a parser still refuses: 100,000 nested arrays, a 5,000-digit number.
            junk = b"[" * 100_000 + b"]" * 100_000 if fault.startswith("deep") else b"9" * 5000
            self._send(handler, 200, raw=b'{"status_code":1000,"timestamp":"' + _now().encode() + b'","data":[{"x":' + junk + b"}]}")
        elif fault in ("404_with_success_envelope", "400_with_3000_envelope"):
            # A client error whose envelope says otherwise: success with data, or a server error.
            status, code = (404, 1000) if fault.startswith("404") else (400, 3000)
            envelope = {"status_code": code, "status_message": "see the HTTP status", "timestamp": _now(), "data": []}
            self._send(handler, status, raw=json.dumps(envelope).encode())
        elif fault == "no_data":  # success, but nothing in it
            self._ok(handler)
        elif fault == "truncated":
            body = json.dumps(
                {"status_code": 1000, "timestamp": _now(), "data": [{"id": "1", "name": "cut"}] * 5}
            ).encode()
            self._send(handler, 200, raw=body[: len(body) // 2])
        else:
            return False
        return True

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        path = split.path.rstrip("/")
        query = parse_qs(split.query)
        with self.lock:
            self.requests.append((method, handler.path))
            self.routing.append(
                (split.path, handler.headers.get("OCPI-to-country-code"), handler.headers.get("OCPI-to-party-id"))
            )
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""

        prefix = urlsplit(self.base_url).path
        if not path.startswith(prefix):
            return self._error(handler, 404, 2000, "not an OCPI path")
        route = path[len(prefix) :].strip("/").split("/")

        candidates = _token_from_header(handler.headers.get("Authorization"))
        with self.lock:
            kind = next((self._inbound[c] for c in candidates if c in self._inbound), None)
        if kind is None:
            return self._error(handler, 401, 2000, "unknown token")
        module = route[0] if route[0] == "versions" else (route[1] if len(route) > 1 else "details")
        if kind == "A" and module not in ("versions", "details", "credentials"):
            return self._error(handler, 401, 2000, "token A is only valid for registration")
        if self._apply_fault(handler, module, query):
            return None

        if route == ["versions"] and method == "GET":
            if self.faults.get("versions") == "no221":
                return self._ok(handler, [{"version": "2.1.1", "url": f"{self.base_url}/2.1.1"}])
            return self._ok(handler, [{"version": VERSION, "url": f"{self.base_url}/{VERSION}"}])
        if route == [VERSION] and method == "GET":
            endpoints = self.endpoints()
            if self.faults.get("details") == "nocreds":
                endpoints = [e for e in endpoints if e["identifier"] != "credentials"]
            return self._ok(handler, {"version": VERSION, "endpoints": endpoints})
        if route[:2] == [VERSION, "credentials"]:
            return self._credentials(handler, method, raw_body, candidates, kind)
        if route[:2] == [VERSION, "locations"] and method == "GET":
            return self._locations(handler, route[2:], query)
        if route[:2] == [VERSION, "tariffs"] and method == "GET":
            return self._list(handler, "tariffs", query)
        if route[:2] == [VERSION, "hubclientinfo"] and method == "GET" and self.hub_clients is not None:
            return self._list(handler, "hubclientinfo", query)
        return self._error(handler, 404, 2000, f"no route for {method} {path}")

    def _credentials(
        self, handler: BaseHTTPRequestHandler, method: str, raw_body: bytes, candidates: list[str], kind: str
    ) -> None:
        registered = bool(self.emsp)
        current = next(c for c in candidates if c in self._inbound)
        if method == "GET":
            return self._ok(handler, self.credentials_body(current))
        if method == "DELETE":
            if not registered:
                return self._error(handler, 405, 2000, "not registered")
            with self.lock:
                self._inbound.pop(current, None)
                self.emsp = {}
            return self._ok(handler)
        if method not in ("POST", "PUT"):
            return self._error(handler, 405, 2000, "method not allowed")
        if method == "POST" and registered:
            return self._error(handler, 405, 2000, "already registered")
        if method == "PUT" and not registered:
            return self._error(handler, 405, 2000, "not registered")
        try:
            body = json.loads(raw_body)
            token, versions_url = body["token"], body["url"]
        except (ValueError, KeyError, TypeError):
            return self._error(handler, 400, 2001, "invalid credentials object")
        try:
            endpoints = self._discover_emsp(versions_url, token)
        except Exception as exc:  # the eMSP's side failed: tell it so, as the spec says
            return self._error(handler, 200, 3001, f"cannot read your versions: {exc}")
        fresh = new_token()
        with self.lock:
            self._inbound.pop(current, None)
            if kind == "A":
                self.token_a = ""
            self._inbound[fresh] = "C"
            self.emsp = {
                "versions_url": versions_url,
                "token": token,
                "endpoints": endpoints,
                "roles": body.get("roles", []),
            }
        if self.faults.pop("credentials_answer", None) == "lost":  # taken, but the answer never arrives
            handler.close_connection = True
            handler.connection.close()
            return None
        return self._ok(handler, self.credentials_body(fresh))

    # Sender interfaces -------------------------------------------------------------------------

    def _locations(
        self, handler: BaseHTTPRequestHandler, rest: list[str], query: dict[str, list[str]]
    ) -> None:
        if not rest:
            return self._list(handler, "locations", query)
        if self.network is None:
            return self._error(handler, 404, 2003, "unknown location")
        location = self.network.location(rest[0])
        if location is None:
            return self._error(handler, 404, 2003, "unknown location")
        obj: Any = location
        if len(rest) >= 2:
            obj = next((e for e in location["evses"] if e["uid"] == rest[1]), None)
        if obj is not None and len(rest) >= 3:
            obj = next((c for c in obj["connectors"] if c["id"] == rest[2]), None)
        if obj is None:
            return self._error(handler, 404, 2000, "unknown object")
        return self._ok(handler, obj)

    def _list(self, handler: BaseHTTPRequestHandler, kind: str, query: dict[str, list[str]]) -> None:
        try:
            offset = int(query.get("offset", ["0"])[0])
            limit = min(int(query.get("limit", [str(self.page_limit)])[0]), self.page_limit)
            date_from = parse_ocpi_datetime(query["date_from"][0]) if "date_from" in query else None
            date_to = parse_ocpi_datetime(query["date_to"][0]) if "date_to" in query else None
        except ValueError as exc:
            return self._error(handler, 400, 2001, f"invalid paging parameter: {exc}")
        if offset < 0 or limit <= 0:
            return self._error(handler, 400, 2001, "offset must be ≥ 0 and limit > 0")
        if kind in self.raw_pages:
            return self._send(handler, 200, raw=self.raw_pages[kind])
        if kind == "hubclientinfo":
            clients = self.hub_clients or []
            data, total = json.dumps(clients[offset : offset + limit]).encode(), len(clients)
        elif self.network is None:
            data, total = b"[]", 0
        else:
            page = self.network.locations_page_bytes if kind == "locations" else self.network.tariffs_page_bytes
            data, total = page(offset=offset, limit=limit, date_from=date_from, date_to=date_to)
        returned = max(0, min(limit, total - offset))
        headers = {"X-Total-Count": str(total), "X-Limit": str(self.page_limit)}
        fault = self.faults.get(f"{kind}_paging")
        next_offset = offset + returned
        if fault in ("forever", "foreign_link"):
            next_offset = offset + limit  # claims there is always more
        if next_offset < total or fault in ("forever", "foreign_link"):
            params: dict[str, str | int] = {"offset": next_offset, "limit": limit}
            for name in ("date_from", "date_to"):
                if name in query:
                    params[name] = query[name][0]
            base = f"{self.base_url}/{VERSION}/{kind}"
            if fault == "foreign_link":
                base = f"http://evil.example.invalid/ocpi/{VERSION}/{kind}"
            elif fault == "relative_link":  # RFC 8288 allows a reference relative to the page's URL
                base = kind
            if fault == "self_link_respelled" and offset > 0:
                # A Link back to this very page, spelled another way: parameters reordered, scheme in capitals.
                params = {"limit": limit, "offset": offset}
                base = base.replace("http://", "HTTP://", 1)
            headers["Link"] = f'<{base}?{urlencode(params)}>; rel="next"'
        body = b'{"status_code":1000,"timestamp":"' + _now().encode() + b'","data":' + data + b"}"
        self._send(handler, 200, raw=body, headers=headers)

