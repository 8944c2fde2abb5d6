"""Query counts that depend on the database."""

from django.db import connection

# Counting a list: on PostgreSQL the planner's estimate comes first (one EXPLAIN), and the
# rows are counted only when it is below LIST_EXACT_COUNT_LIMIT; elsewhere, one COUNT.
COUNT_QUERIES = 2 if connection.vendor == "postgresql" else 1
