"""Precompiled single-row UPDATEs for the hot paths.

The ORM compiles a queryset's UPDATE anew for every call; for one small statement per
conversation that compilation costs more than running it. These helpers write the SQL
once per model and set of columns, and adapt values exactly as the ORM would
(``get_db_prep_save``), so JSON, UUID and datetime columns behave the same on every
database.
"""

from functools import lru_cache

from django.db import connection, models


@lru_cache(maxsize=128)
def _update_sql(model: type[models.Model], vendor: str, names: tuple, where: tuple) -> str:
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
    return _update_sql(model, connection.vendor, tuple(values), tuple(where)), params
