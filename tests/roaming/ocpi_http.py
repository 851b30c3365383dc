"""Helpers for calling our OCPI endpoints as a partner would."""

from __future__ import annotations

import json
from typing import Any

from roaming.ocpi.auth import encode_token


def auth(token: str, *, base64_token: bool = True) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": encode_token(token, base64_encode=base64_token)}


def call(client, method: str, path: str, token: str | None = None, body: Any = None, raw: bytes | None = None, **extra):
    headers = dict(extra)
    if token is not None:
        headers.update(auth(token))
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    kwargs: dict[str, Any] = {"content_type": "application/json"}
    if data is not None:
        kwargs["data"] = data
    return getattr(client, method.lower())(path, **kwargs, **headers)


def assert_refused(response, http_status: int, status_code: int, *fragments: str) -> None:
    """An OCPI error envelope: the HTTP and OCPI codes, no data, and the message naming the cause."""
    body = response.json()
    assert response.status_code == http_status, body
    assert body["status_code"] == status_code, body
    assert "data" not in body
    for fragment in fragments:
        assert fragment in body["status_message"], body["status_message"]


def rows(*models) -> dict[str, list[dict[str, Any]]]:
    """Every row of these models, to assert that a refused request changed nothing."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
