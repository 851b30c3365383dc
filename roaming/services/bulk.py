"""Fast bulk upserts for sync pages: one statement per table and page, no per-value ORM work.

Django's `bulk_create(update_conflicts=True)` compiles every value through the ORM; for a page of
a thousand locations (≈ 3,000 EVSEs, 4,000 connectors) that compilation costs several times what
the database itself spends. Here the rows of a table are one JSON document (an array of row
arrays, encoded by a single `json.dumps` in C) and one `INSERT … SELECT` unpacks it on the
database side:
- PostgreSQL/PostGIS: `jsonb_array_elements` and a cast per column. psycopg's per-element
  escaping of array parameters (a Python loop with a regex per string) had cost more than the
  insert, and a statement with thousands of placeholders is re-parsed on every call.
- SQLite/SpatiaLite: `json_each` and `json_extract`, with values as Django's SQLite backend
  stores them (datetimes as naive UTC text, JSON as text). One statement is one `sqlite3_step`,
  so the GIL is released once for the whole insert rather than once per row (`executemany`),
  which lets the sync decode the next page meanwhile without a lock convoy.
`ON CONFLICT (…) DO UPDATE SET col = excluded.col` is the same on both. On PostgreSQL `returning`
columns come back from the same statement (inserted and updated rows); SQLite callers select.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.gis.db.models import PointField
from django.db import connection, models

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]] | None:
    """Insert `rows` (one value per column name in `columns`; a point is (longitude, latitude)).

    On a conflict on `conflict`, update the `update` columns (all non-conflict columns by
    default), or do nothing when `update` is an empty list. With `returning` on PostgreSQL,
    the given columns of every inserted or updated row are returned; SQLite returns None.
    """
    if not rows:
        return [] if connection.vendor == "postgresql" else None
    fields = {f.column: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    update_columns = [c for c in columns if c not in conflict] if update is None else list(update)
    # Identifiers come from model metadata and are quoted; every value is a parameter.
    tail = f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) "
    if update_columns:
        tail += "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update_columns)
    else:
        tail += "DO NOTHING"
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
    postgresql = connection.vendor == "postgresql"
    if returning and postgresql:
        tail += " RETURNING " + ", ".join(quote(c) for c in returning)
    found = _upsert_document(head, tail, [fields[c] for c in columns], rows, fetch=bool(returning) and postgresql)
    return found if postgresql else None


# One JSON document per statement ------------------------------------------------------------------


def _cell_converter(field: models.Field) -> Callable[[Any], Any] | None:
    """How a value goes into the JSON document (None: as it is)."""
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "postgresql":
            return lambda value: value.isoformat()
        zone = connection.timezone

        def naive_text(value: dt.datetime) -> str:  # Django's SQLite storage: naive, in the connection's zone
            if value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            return str(value)

        return naive_text
    if isinstance(field, models.DecimalField):
        return lambda value: str(value) if isinstance(value, decimal.Decimal) else value
    if isinstance(field, models.JSONField) and field.encoder is not None:
        return lambda value: json.loads(json.dumps(value, cls=field.encoder))
    return None


def _document(fields: list[models.Field], rows: Sequence[Sequence[Any]]) -> str:
    """The rows as one compact JSON array of arrays; a point takes two cells (longitude, latitude)."""
    converters = [_cell_converter(field) for field in fields]
    points = [isinstance(field, PointField) for field in fields]
    document: list[list[Any]] = []
    for row in rows:
        cells: list[Any] = []
        for value, convert, point in zip(row, converters, points, strict=True):
            if point:
                cells.extend((None, None) if value is None else value)
            elif value is None or convert is None:
                cells.append(value)
            else:
                cells.append(convert(value))
        document.append(cells)
    return _JSON(document)


def _postgresql_expression(field: models.Field, index: int) -> str:
    cell = f"e->>{index}"
    if isinstance(field, PointField):
        return f"CASE WHEN {cell} IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(({cell})::float8, (e->>{index + 1})::float8), 4326) END"
    if isinstance(field, models.JSONField):
        # JSON null in the document stands for SQL NULL (Django stores None as SQL NULL).
        return f"NULLIF(e->{index}, 'null'::jsonb)"
    if isinstance(field, models.CharField | models.TextField):
        return cell  # text; the column's own assignment cast rejects an over-long value
    if isinstance(field, models.DateTimeField):
        return f"({cell})::timestamptz"
    return f"({cell})::{field.db_type(connection)}"


def _sqlite_expression(field: models.Field, index: int) -> str:
    cell = f"json_extract(value, '$[{index}]')"
    if isinstance(field, PointField):
        return f"CASE WHEN {cell} IS NULL THEN NULL ELSE MakePoint({cell}, json_extract(value, '$[{index + 1}]'), 4326) END"
    if isinstance(field, models.JSONField):
        # JSON text, as Django stores it; JSON null stands for SQL NULL.
        return f"CASE json_type(value, '$[{index}]') WHEN 'null' THEN NULL ELSE json_quote({cell}) END"
    return cell


def _upsert_document(
    head: str, tail: str, fields: list[models.Field], rows: Sequence[Sequence[Any]], fetch: bool
) -> list[tuple[Any, ...]]:
    """One statement whatever the row count: the database unpacks the document itself.

    PostgreSQL: `jsonb_array_elements` and a cast per column. SQLite: `json_each` and
    `json_extract`; the whole insert is a single step, so sqlite3 releases the GIL once for
    it (a sync fetches and decodes the next page meanwhile), not once per row as executemany.
    """
    expressions: list[str] = []
    index = 0
    postgresql = connection.vendor == "postgresql"
    for field in fields:
        expressions.append(_postgresql_expression(field, index) if postgresql else _sqlite_expression(field, index))
        index += 2 if isinstance(field, PointField) else 1
    if postgresql:
        source = "FROM jsonb_array_elements(%s::jsonb) AS r(e)"
    else:
        source = "FROM json_each(%s) WHERE true"  # WHERE: SQLite's upsert-after-SELECT parsing rule
    select = f"SELECT {', '.join(expressions)} {source}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(head + select + tail, [_document(fields, rows)])
        return cursor.fetchall() if fetch else []
