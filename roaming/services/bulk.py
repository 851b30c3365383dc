"""Fast bulk writes for sync pages: one statement per table and page, no per-value ORM work.

Django's `bulk_create(update_conflicts=True)` compiles every value through the ORM; for a page of
a thousand locations (≈ 3,000 EVSEs, 3,000 connectors) that compilation costs several times what
the database itself spends. Here the rows of a table become a `Batch` and one `INSERT … SELECT`
reads them on the database side:
- PostgreSQL/PostGIS: the batch is one JSON document (an array of row arrays, a single
  `json.dumps` in C) unpacked by `jsonb_array_elements` with a cast per column. psycopg's
  per-element escaping of array parameters (a Python loop with a regex per string) had cost more
  than the insert, and a statement with thousands of placeholders is re-parsed on every call.
- SQLite/SpatiaLite: the batch is one multi-row `VALUES (?, …), (?, …)` with its parameters,
  values as Django's SQLite backend stores them (datetimes as naive UTC text, JSON as text).
  sqlite3 caches the prepared statement; SQLite 3.40's `json_extract` had cost 2 µs a cell,
  ten times the bound parameter.
Either way a page is a few statements, each a single wait on the database (one socket round
trip; one `sqlite3_step`) during which the GIL is free: the sync prepares the next page in
another thread meanwhile. Row-by-row cursors (executemany, many-row SELECTs) would hand the GIL
back and forth on every row.

Batches are built with an `Encoder` (no database access, so any thread may build them); the
caller assembles the SQL from the batch's `chunks`, `cell` and `text` (see `network.write_locations`).
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias

import orjson
from django.contrib.gis.db.models import PointField
from django.db import connection, models


def _json_text(value: Any) -> str:
    """Compact JSON text: orjson, six times the stdlib's C encoder on the small values that fill
    most cells (and datetimes as RFC 3339, which PostgreSQL reads; Decimals as strings, which
    its casts read exactly)."""
    return orjson.dumps(value, default=_decimal_text).decode()


def _decimal_text(value: Any) -> str:
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# SQLite statement sizes (rows): a batch uses the smallest that holds it, or several of the
# largest. PostgreSQL takes a page's rows in one document.
ROWS_PER_STATEMENT = (64, 256, 1024)

Field: TypeAlias = "models.Field[Any, Any] | None"  # None: a plain lookup value (text or number) passed as is


class Encoder:
    """Turns rows into batches for one database. Holds no connection."""

    def __init__(self, vendor: str, zone: dt.tzinfo, max_variables: int = 32766) -> None:
        self.vendor = vendor
        self.zone = zone
        self.max_variables = max_variables
        self._utc = zone.utcoffset(None) == dt.timedelta(0)
        self._texts: dict[dt.datetime, str] = {}

    def _converter(self, field: Field) -> Callable[[Any], Any] | None:
        if isinstance(field, models.DateTimeField):
            return None if self.vendor == "postgresql" else self._datetime  # orjson writes RFC 3339
        if isinstance(field, models.DecimalField):
            if self.vendor == "postgresql":
                return None  # a string in the document (see _json_text)
            return lambda value: str(value) if isinstance(value, decimal.Decimal) else value
        if isinstance(field, models.JSONField):
            if self.vendor == "postgresql":
                if field.encoder is None:
                    return None  # nested in the document as it is
                return lambda value: json.loads(json.dumps(value, cls=field.encoder))
            if field.encoder is not None:
                return lambda value: json.dumps(value, cls=field.encoder)
            return _json_text
        return None

    def _datetime(self, value: dt.datetime) -> str:
        # Django's SQLite storage: naive text in the connection's zone (str() of a naive
        # datetime). The wire models give UTC datetimes: drop the "+00:00" instead of converting.
        # Many values repeat (connectors share their EVSE's time): formatted once each.
        text = self._texts.get(value)
        if text is not None:
            return text
        if len(self._texts) > 100_000:
            self._texts.clear()
        text = self._texts[value] = self._datetime_text(value)
        return text

    def _datetime_text(self, value: dt.datetime) -> str:
        if self._utc and value.tzinfo is dt.UTC:
            return value.isoformat(" ")[:-6]
        if value.tzinfo is not None:
            value = value.astimezone(self.zone).replace(tzinfo=None)
        return str(value)

    def batch(self, fields: Sequence[Field], rows: list[list[Any]]) -> Batch:
        """Encode `rows` (one value per field; a point is (longitude, latitude)). The rows'
        lists are converted in place."""
        conversions = [(index, convert) for index, field in enumerate(fields) if (convert := self._converter(field))]
        for row in rows if conversions else ():
            for index, convert in conversions:
                value = row[index]
                if value is not None:
                    row[index] = convert(value)
        if self.vendor == "postgresql":
            return Batch(self, fields, len(rows), [_json_text(rows)])
        points = [index for index, field in enumerate(fields) if isinstance(field, PointField)]
        flat: list[Any] = []
        for number, row in enumerate(rows):
            for index in reversed(points):  # a point is two parameters, longitude and latitude
                row[index : index + 1] = (None, None) if row[index] is None else row[index]
            flat.extend(row)
            flat.append(number)  # the row's place, for `order`
        return Batch(self, fields, len(rows), flat)


def encoder() -> Encoder:
    """An encoder for the current thread's database connection."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return Encoder(connection.vendor, connection.timezone, max_variables=limit)
    return Encoder(connection.vendor, connection.timezone)


class Batch:
    """The rows of one table for one statement (or a few, for SQLite's parameter limit).

    In the SQL, the batch is a FROM item (`chunks`) whose row gives each field's value
    (`cell`, cast for its column) or a plain value for joins and filters (`text`).
    """

    def __init__(self, encoder: Encoder, fields: Sequence[Field], rows: int, params: list[Any]) -> None:
        self.postgresql = encoder.vendor == "postgresql"
        self.fields = list(fields)
        self.rows = rows
        self.params = params
        self.max_variables = encoder.max_variables
        # SQLite: the VALUES column (1-based) where each field starts; a point takes two.
        self._starts: list[int] = []
        column = 1
        for field in self.fields:
            self._starts.append(column)
            column += 2 if isinstance(field, PointField) else 1
        self._width = column  # the fields' columns and the row number
        self._only: list[int] | None = None  # PostgreSQL: the row numbers `only` kept

    def only(self, numbers: Sequence[int]) -> Batch:
        """The batch restricted to the rows numbered `numbers` (ascending); `order` keeps
        following the original numbers. SQLite: the kept rows' parameters only; PostgreSQL:
        the same document, filtered by `kept` in the statement."""
        subset = copy.copy(self)
        subset.rows = len(numbers)
        if self.postgresql:
            subset._only = list(numbers)
            return subset
        width, params = self._width, self.params
        subset.params = [value for number in numbers for value in params[number * width : (number + 1) * width]]
        return subset

    def kept(self, alias: str = "r") -> tuple[str, list[Any]]:
        """A WHERE condition (` AND …`) and its parameters that drop the rows `only` left out."""
        if self._only is None:
            return "", []
        return f" AND ({alias}.n - 1) = ANY(%s::bigint[])", [self._only]  # WITH ORDINALITY counts from 1

    def chunks(self, alias: str = "r", reserve: int = 0) -> Iterator[tuple[str, list[Any]]]:
        """(FROM item, its parameters) for each statement, leaving `reserve` variables free.

        SQLite: statements of a few fixed sizes, the last one padded with rows of NULLs, which the
        caller's WHERE must drop (every caller filters on a key cell). sqlite3 keeps each distinct
        statement prepared with a copy of its last parameters, so a size per page would cost a
        prepare per page and hold megabytes per cached statement; and few statements matter:
        each one hands the GIL to the page-preparing thread and may wait a switch interval to
        get it back.
        """
        if self.postgresql:
            yield f"jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS {alias}(e, n)", self.params
            return
        fitting = max(1, (self.max_variables - reserve) // self._width)
        size = min(next((tier for tier in ROWS_PER_STATEMENT if tier >= self.rows), ROWS_PER_STATEMENT[-1]), fitting)
        values = "(VALUES " + ", ".join(["(" + ", ".join(["%s"] * self._width) + ")"] * size) + f") AS {alias}"
        for start in range(0, self.rows, size):
            params = self.params[start * self._width : (start + size) * self._width]
            params.extend([None] * (size * self._width - len(params)))
            yield values, params

    @property
    def columns(self) -> list[str]:
        """The table columns the batch's fields fill (lookup values left out)."""
        return [field.column for field in self.fields if field is not None]

    def order(self, alias: str = "r") -> str:
        """The row's place in the batch: `ORDER BY` it so ids follow the order received."""
        return f"{alias}.n" if self.postgresql else f"{alias}.column{self._width}"

    def text(self, index: int, alias: str = "r") -> str:
        """Field `index` of the row as a plain value: for joins and filters."""
        if self.postgresql:
            return f"({alias}.e->>{index})"
        return f"{alias}.column{self._starts[index]}"

    def cell(self, index: int, alias: str = "r") -> str:
        """Field `index` of the row, as a value for its column."""
        field = self.fields[index]
        value = self.text(index, alias)
        if not self.postgresql:
            if isinstance(field, PointField):
                latitude = f"{alias}.column{self._starts[index] + 1}"
                return f"CASE WHEN {value} IS NULL THEN NULL ELSE MakePoint({value}, {latitude}, 4326) END"
            return value  # already as Django stores it (see Encoder)
        if isinstance(field, PointField):
            point = f"({alias}.e->{index})"
            return f"CASE WHEN {value} IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(({point}->>0)::float8, ({point}->>1)::float8), 4326) END"
        if isinstance(field, models.JSONField):
            # JSON null in the document stands for SQL NULL (Django stores None as SQL NULL).
            return f"NULLIF({alias}.e->{index}, 'null'::jsonb)"
        if field is None or isinstance(field, models.CharField | models.TextField):
            return value  # text; the column's own assignment cast rejects an over-long value
        if isinstance(field, models.DateTimeField):
            return f"{value}::timestamptz"
        return f"{value}::{field.db_type(connection)}"

    def index(self, column: str) -> int:
        """The field index of table column `column`."""
        return next(i for i, field in enumerate(self.fields) if field is not None and field.column == column)

    def cells(self, start: int = 0, alias: str = "r") -> str:
        """`cell()` of every field from `start`, comma-separated."""
        return ", ".join(self.cell(index, alias) for index in range(start, len(self.fields)))


def execute(cursor: Any, sql: str, params: list[Any]) -> None:
    """Run one batch statement.

    SQLite: with the `?` placeholders written once per distinct statement, not converted by
    Django's regex on every call (a 1,024-row VALUES statement is ~100 KB of SQL), and under
    Django's database error translation as usual.
    """
    if connection.vendor != "sqlite":
        cursor.execute(sql, params)
        return
    converted = _QMARK_SQL.get(sql)
    if converted is None:
        converted = _QMARK_SQL[sql] = sql.replace("%s", "?")
        if len(_QMARK_SQL) > 256:
            _QMARK_SQL.clear()
    with connection.wrap_database_errors:
        sqlite3.Cursor.execute(cursor.cursor, converted, params)


_QMARK_SQL: dict[str, str] = {}


def in_list(expression: str) -> str:
    """`expression IN` a JSON array parameter of strings."""
    if connection.vendor == "postgresql":
        return f"{expression} IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    return f"{expression} IN (SELECT value FROM json_each(%s))"


def on_conflict(conflict: Sequence[str], update: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    clause = f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) "
    if not update:
        return clause + "DO NOTHING"
    return clause + "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)


def any_changed(model: type[models.Model], columns: Sequence[str]) -> str:
    """A `DO UPDATE … WHERE` clause: only when one of `columns` would change (a re-sent row that
    is the same is not rewritten, so its indexes and pages are not touched)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return " WHERE " + " OR ".join(f"{table}.{quote(c)} {distinct} excluded.{quote(c)}" for c in columns)


def held_as_is(model: type[models.Model], batch: Batch, parent: tuple[str, str], key: str, columns: Sequence[str]) -> str:
    """SQL true when the table already holds the batch row as it is: the row of the same parent
    (`parent`: the table's column and the parent id's expression) and the same `key` column has
    every one of `columns` equal (NULLs equal).

    The same test as `any_changed`, made before the insert: an unchanged row of an increment
    then costs one index probe instead of an attempted insert (its triggers and conflict check).
    """
    quote = connection.ops.quote_name
    same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
    parent_column, parent_id = parent
    match = f"x.{quote(parent_column)} = {parent_id} AND x.{quote(key)} = {batch.text(batch.index(key))}"
    equal = " AND ".join(f"x.{quote(c)} {same} {batch.cell(batch.index(c))}" for c in columns)
    return f"EXISTS (SELECT 1 FROM {quote(model._meta.db_table)} x WHERE {match} AND {equal})"


def insert_into(model: type[models.Model], columns: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    return f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "


def model_fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    fields = {f.column: f for f in model._meta.concrete_fields}
    return [fields[c] for c in columns]
