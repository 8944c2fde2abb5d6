"""Who is in a create call: the process that sends a provider batch holds a PostgreSQL
advisory lock named after its intent (the ``ProviderBatch`` in ``submitting``) from before
the intent is committed until the provider's answer is recorded. A process that dies
(SIGKILL, out of memory, its machine lost) loses its database session, and the lock with
it: adoption (``generation.adoption``) takes the lock's absence as proof that nobody will
record the intent's answer any more.

The lock is a session lock: it needs a real PostgreSQL session per process (Django's own
connections or its pool; not a transaction-pooling proxy such as PgBouncer in transaction
mode).
"""

import contextlib

from django.db import DatabaseError, connection

_NAME = "SELECT {}(hashtextextended(%s, 0))"


def _key(intent_pk) -> str:
    return f"generation-intent:{intent_pk}"


def hold(intent_pk) -> None:
    """Take the intent's lock (before the transaction that creates the intent commits)."""
    with connection.cursor() as cursor:
        cursor.execute(_NAME.format("pg_advisory_lock"), [_key(intent_pk)])


def let_go(intent_pk) -> None:
    """Give the lock back once the provider's answer is recorded (or the call failed). On a
    connection that was lost, the lock went with the session: nothing to give back."""
    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        cursor.execute(_NAME.format("pg_advisory_unlock"), [_key(intent_pk)])


def creator_gone(intent_pk) -> bool:
    """In a transaction: whether no process is in the intent's create call. When so, the
    lock is kept until the transaction ends, so two processes never settle one intent at
    once (the second sees the lock taken and waits for a next step)."""
    with connection.cursor() as cursor:
        cursor.execute(_NAME.format("pg_try_advisory_xact_lock"), [_key(intent_pk)])
        return bool(cursor.fetchone()[0])
