"""Storing a run's items: one statement for a selection of any size.

A selection that is a queryset is stored by one ``INSERT … SELECT`` that numbers the rows
in the database (a million conversations never pass through the web process); ids a
caller sent one by one go in as one parameter.
"""

import uuid
from collections.abc import Sequence

from django.db import connections
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from conversations.models import Conversation
from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome


def store_items(
    run: EnrichmentRun, conversations: Sequence[uuid.UUID] | QuerySet[Conversation]
) -> int:
    """Store one pending item of ``run`` per distinct conversation, numbered from 1 in the
    selection's order (a conversation selected twice keeps its first place); returns how
    many were stored."""
    if isinstance(conversations, QuerySet):
        return _insert_selected(run, conversations)
    pks = list(dict.fromkeys(conversations))
    if not pks:
        return 0
    connection = connections[EnrichmentRunItem.objects.db]
    return _insert(run, LISTED, [pks], connection)


# Ids a caller sent, as one parameter (an array), numbered in the order given: one
# statement, not rows built in Python.
LISTED = "SELECT u.id, u.n FROM unnest(%s::uuid[]) WITH ORDINALITY AS u(id, n)"


def _insert_selected(run: EnrichmentRun, conversations: QuerySet[Conversation]) -> int:
    if conversations.query.is_sliced:
        raise ValueError("A run stores a whole selection, not a slice of one.")
    # The selection's own order, then the row id: positions never depend on the plan.
    ordering = [*(conversations.query.order_by or Conversation._meta.ordering), "pk"]
    numbered = (
        conversations.order_by()
        .annotate(item_conversation=F("pk"), item_order=Window(RowNumber(), order_by=ordering))
        .values_list("item_conversation", "item_order")
    )
    using = conversations.db
    connection = connections[using]
    selected_sql, selected_params = numbered.query.get_compiler(using=using).as_sql()
    # A group can hold a conversation twice (two items of a batch job): it keeps its
    # first place, and the positions stay 1..total without gaps.
    firsts = (
        "SELECT item_conversation AS id, "
        "ROW_NUMBER() OVER (ORDER BY MIN(item_order)) AS n "
        f"FROM ({selected_sql}) numbered GROUP BY item_conversation"
    )
    return _insert(run, firsts, list(selected_params), connection)


def _insert(run: EnrichmentRun, rows_sql: str, params: list, connection) -> int:
    """Insert a pending item per row ``(id, n)`` of ``rows_sql``: conversation, position."""
    meta = EnrichmentRunItem._meta
    q = connection.ops.quote_name
    columns = ", ".join(
        q(meta.get_field(name).column)
        for name in ("run", "conversation", "position", "outcome", "enrichment_status")
    )
    sql = (
        f"INSERT INTO {q(meta.db_table)} ({columns}) "
        f"SELECT %s, selected.id, selected.n, %s, %s FROM ({rows_sql}) selected"
    )
    run_id = meta.get_field("run").get_db_prep_value(run.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, ItemOutcome.PENDING.value, "", *params])
        return cursor.rowcount
