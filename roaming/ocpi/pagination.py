"""Pagination as an OCPI Sender (checklist §2.3): offset, limit, date_from, date_to in;
`Link: <…>; rel="next"`, `X-Total-Count` and `X-Limit` out.

Order is stable (the field given, then the primary key, oldest first), `date_from` is inclusive
and `date_to` exclusive on `last_updated`, and the next link keeps the caller's filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from roaming.ocpi.envelope import InvalidParameters
from roaming.ocpi.v221.common import parse_datetime
from roaming.ocpi.views.base import Result


def _int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise InvalidParameters(f"{name}: '{raw}' is not a whole number") from error
    if value < 0:
        raise InvalidParameters(f"{name}: must not be negative")
    return value


def paginate(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    serialize: Callable[[Any], Any],
    max_limit: int | None = None,
    date_field: str = "last_updated",
) -> Result:
    max_limit = max_limit or settings.OCPI_PAGE_LIMIT
    offset = _int(request, "offset", 0)
    limit = min(_int(request, "limit", max_limit) or max_limit, max_limit)
    filters: dict[str, Any] = {}
    for name, lookup in (("date_from", "gte"), ("date_to", "lt")):
        raw = request.GET.get(name)
        if raw:
            try:
                filters[f"{date_field}__{lookup}"] = parse_datetime(raw, allow_offset=True)
            except (ValueError, TypeError) as error:
                raise InvalidParameters(f"{name}: '{raw}' is not an OCPI DateTime") from error
    matching = queryset.filter(**filters).order_by(date_field, "pk")
    total = matching.count()
    page = list(matching[offset : offset + limit])
    headers = {"X-Total-Count": str(total), "X-Limit": str(max_limit)}
    if offset + len(page) < total:
        params = {k: v for k, v in request.GET.items() if k in ("date_from", "date_to")}
        params.update(offset=str(offset + len(page)), limit=str(limit))
        url = settings.OCPI_BASE_URL + request.path + "?" + urlencode(params)
        headers["Link"] = f'<{url}>; rel="next"'
    return Result(data=[serialize(item) for item in page], headers=headers)
