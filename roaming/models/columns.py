"""Reading rows with hand-built SELECTs, converted exactly as the ORM would.

Hot paths (a partner's pushed EVSE status, hundreds a second) run a few fixed queries per request.
Compiling them through the ORM cost several times what the rest of the request does, while the
SQL never changes. `Columns` holds the SQL of some columns of a model once; each row read goes
through the columns' own converters (JSON, datetimes, booleans on SQLite) and becomes an ordinary
model instance (the other columns deferred).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


class Columns(Generic[M]):
    """Some columns of `model`, selected under table alias `alias`."""

    def __init__(self, model: type[M], alias: str, names: Sequence[str]) -> None:
        wanted = set(names)
        # Model.from_db expects the loaded columns in the model's own order.
        self.fields = [f for f in model._meta.concrete_fields if f.name in wanted or f.attname in wanted]
        self.model = model
        self.attnames = [f.attname for f in self.fields]
        self.columns = [f.get_col(alias) for f in self.fields]
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(f.column)}" for f in self.fields)
        # Per connection object (one per thread): (connection, [(position, column, converters)]).
        self._plan: tuple[Any, list[tuple[int, Any, list[Converter]]]] | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def _converters(self, connection: Any) -> list[tuple[int, Any, list[Converter]]]:
        plan = self._plan
        if plan is not None and plan[0] is connection:
            return plan[1]
        # The backend's converters, then the field's: the order the ORM's compiler uses. Asked
        # once per connection, not per row (each ask walks the field and the backend).
        steps = []
        for position, column in enumerate(self.columns):
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                steps.append((position, column, converters))
        self._plan = (connection, steps)
        return steps

    def build(self, values: Sequence[Any]) -> M:
        """A model instance from one row of `sql`'s values (in the default database)."""
        if len(values) != len(self.attnames):
            raise ValueError(f"expected {len(self.attnames)} values for {self.model.__name__}, got {len(values)}")
        connection = connections[DEFAULT_DB_ALIAS]
        converted = list(values)
        for position, column, converters in self._converters(connection):
            value = converted[position]
            for convert in converters:
                value = convert(value, column, connection)
            converted[position] = value
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, converted)
