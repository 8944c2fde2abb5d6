"""Precompiled UPDATEs for the hot paths: one row, or many rows with their own values.

The ORM compiles a queryset's UPDATE anew for every call; for one small statement per
conversation that compilation costs more than running it. These helpers write the SQL
once per model and set of columns, and adapt values exactly as the ORM would
(``get_db_prep_save``), so JSON, UUID and datetime columns behave as they do there.
"""

from functools import lru_cache

import orjson
from django.db import connection, models


@lru_cache(maxsize=128)
def _update_sql(model: type[models.Model], names: tuple, where: tuple) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in where)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {conditions}"


def update_statement(model: type[models.Model], values: dict, where: dict) -> tuple[str, list]:
    """``UPDATE <table> SET <values> WHERE <where, all equal>`` and its parameters."""
    meta = model._meta
    params = [
        meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in (*values.items(), *where.items())
    ]
    return _update_sql(model, tuple(values), tuple(where)), params


def update_rows_statement(
    model: type[models.Model],
    columns: tuple[str, ...],
    rows: list[tuple],
    *,
    constants: dict | None = None,
    where: dict | None = None,
    returning: str | None = None,
) -> tuple[str, list]:
    """One UPDATE giving many rows each their own values, and its parameters.

    ``rows`` are ``(primary key, *values of columns)``; ``constants`` are set on every
    row; ``where`` adds conditions every row must meet (column = value); ``returning``
    names a column to answer for each row written. The values arrive as a table the
    UPDATE joins, so the statement costs one round trip whatever the number of rows: one
    JSON document of every row (``jsonb_to_recordset``), written at C speed and read by
    the server, so the statement's text stays the same for any number of rows and the
    driver adapts one parameter instead of each value.
    """
    constants = constants or {}
    where = where or {}
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(name) for name in columns)]
    sql = _rows_sql(model, tuple(columns), tuple(constants), tuple(where), returning)

    def prepared(values: dict) -> list:
        return [meta.get_field(name).get_db_prep_save(v, connection) for name, v in values.items()]

    # In the order of the statement: SET constants, FROM the rows, WHERE.
    names = [f"v{index}" for index in range(len(fields))]
    document = orjson.dumps(
        [
            {
                name: field.get_prep_value(item)
                for name, field, item in zip(names, fields, row, strict=True)
            }
            for row in rows
        ]
    ).decode()
    return sql, [*prepared(constants), document, *prepared(where)]


@lru_cache(maxsize=64)
def _rows_sql(
    model: type[models.Model],
    columns: tuple,
    constants: tuple,
    where: tuple,
    returning: str | None,
) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    fields = [meta.pk, *(meta.get_field(name) for name in columns)]
    names = [quote(f"v{index}") for index in range(len(fields))]
    assignments = [f"{quote(f.column)} = v.{names[i]}" for i, f in enumerate(fields) if i]
    assignments += [f"{quote(meta.get_field(name).column)} = %s" for name in constants]
    conditions = [f"{table}.{quote(meta.pk.column)} = v.{names[0]}"]
    conditions += [f"{table}.{quote(meta.get_field(name).column)} = %s" for name in where]
    types = ", ".join(
        f"{name} {field.cast_db_type(connection)}"
        for name, field in zip(names, fields, strict=True)
    )
    source = f"jsonb_to_recordset(%s::jsonb) AS v ({types})"
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} FROM {source} "
        f"WHERE {' AND '.join(conditions)}"
    )
    if returning:
        sql += f" RETURNING {table}.{quote(meta.get_field(returning).column)}"
    return sql
