"""Fast bulk upserts for sync pages: one statement per table and page, no per-value ORM work.

Django's `bulk_create(update_conflicts=True)` compiles every value through the ORM; for a page of
a thousand locations (≈ 3,000 EVSEs, 4,000 connectors) that compilation costs several times what
the database itself spends. Here the SQL is built once per call:
- PostgreSQL/PostGIS: `INSERT … SELECT … FROM ROWS FROM (unnest(%s::type[]), …)` — one array
  parameter per column (a jsonb array for JSON columns), so the statement stays short whatever
  the row count (psycopg re-parses long statements with thousands of placeholders on every
  call, which cost more than the insert);
- SQLite/SpatiaLite: `executemany` of a one-row statement, prepared once by sqlite3.
`ON CONFLICT (…) DO UPDATE SET col = excluded.col` is the same on both. Values are adapted with
the backend's own adapters, so the database gets exactly what Django would have sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.gis.db.models import PointField
from django.db import connection, models


def _adapter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DecimalField):
        return lambda value: connection.ops.adapt_decimalfield_value(value, field.max_digits, field.decimal_places)
    return lambda value: value


def upsert(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert `rows` (column name → value; points as (longitude, latitude) or None).

    On a conflict on `conflict`, update the `update` columns (all non-conflict columns by
    default), or do nothing when `update` is an empty list.
    """
    if not rows:
        return
    columns = list(rows[0])
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
    if connection.vendor == "postgresql":
        _upsert_unnest(head, tail, columns, fields, rows)
    else:
        _upsert_many(head, tail, columns, fields, rows)


def _upsert_unnest(head: str, tail: str, columns: list[str], fields: dict[str, models.Field], rows: Sequence[dict[str, Any]]) -> None:
    params: list[Any] = []
    sources: list[str] = []  # set-returning functions, zipped row by row by ROWS FROM
    names: list[str] = []
    selects: list[str] = []
    for index, column in enumerate(columns):
        field = fields[column]
        name = f"c{index}"
        if isinstance(field, PointField):
            points = [row[column] for row in rows]
            params += [[p[0] if p else None for p in points], [p[1] if p else None for p in points]]
            sources += ["unnest(%s::float8[])", "unnest(%s::float8[])"]
            names += [f"{name}_lon", f"{name}_lat"]
            selects.append(
                f"CASE WHEN {name}_lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint({name}_lon, {name}_lat), 4326) END"
            )
        elif isinstance(field, models.JSONField):
            # One jsonb document holding the column: psycopg escapes every quote of every JSON
            # text in a text[] parameter, which cost more than the insert itself.
            params.append(json.dumps([row[column] for row in rows], separators=(",", ":")))
            sources.append("jsonb_array_elements(%s::jsonb)")
            names.append(name)
            # JSON null in the array stands for SQL NULL (Django stores None as SQL NULL).
            selects.append(f"NULLIF({name}, 'null'::jsonb)")
        else:
            adapt = _adapter(field)
            params.append([None if row[column] is None else adapt(row[column]) for row in rows])
            sources.append(f"unnest(%s::{field.db_type(connection)}[])")
            names.append(name)
            selects.append(name)
    select = f"SELECT {', '.join(selects)} FROM ROWS FROM ({', '.join(sources)}) AS u({', '.join(names)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(head + select + tail, params)


def _upsert_many(head: str, tail: str, columns: list[str], fields: dict[str, models.Field], rows: Sequence[dict[str, Any]]) -> None:
    placeholders = []
    adapters: list[Callable[[Any], Any] | None] = []
    for column in columns:
        if isinstance(fields[column], PointField):
            placeholders.append("CASE WHEN %s IS NULL THEN NULL ELSE MakePoint(%s, %s, 4326) END")
            adapters.append(None)
        else:
            placeholders.append("%s")
            adapters.append(_adapter(fields[column]))
    params: list[list[Any]] = []
    for row in rows:
        values: list[Any] = []
        for column, adapt in zip(columns, adapters, strict=True):
            value = row[column]
            if adapt is None:  # a point: flag, longitude, latitude
                values.extend((None, None, None) if value is None else (1, value[0], value[1]))
            else:
                values.append(adapt(value) if value is not None else None)
        params.append(values)
    with connection.cursor() as cursor:
        cursor.executemany(head + f"VALUES ({', '.join(placeholders)})" + tail, params)
