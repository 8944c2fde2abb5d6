"""At most ``GENERATION_CONCURRENCY`` realtime calls in flight across all workers, and no
attempt sent by two of them at once.

Both are PostgreSQL session-level advisory locks, taken with ``pg_try_advisory_lock`` on
the caller's own database connection (a statement of its own: no transaction stays open
during a call that can take minutes) and given back when the call is done:

- a **slot** is ``(SLOTS, n)`` for ``n`` in ``range(GENERATION_CONCURRENCY)``: a realtime
  call holds one for its whole duration, and none free means none may start now;
- a **claim** is ``(CLAIMS, hashtext(attempt id))``: the attempt is being sent; others
  skip it.

A worker that dies, or loses its database, loses its connection, and PostgreSQL frees
what it held: nothing stays taken after a crash. (An attempt whose call was answered but
not yet taken in when its worker died is sent again by the next one: the Messages API has
no way to find a lost answer.)
"""

import contextlib
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import DatabaseError, connection

# The two-integer form of advisory locks (its own key space: the one-bigint locks used
# elsewhere never meet these). "gen" + 1 and 2.
SLOTS = 0x67656E01
CLAIMS = 0x67656E02


def _try_lock(namespace: int, key_sql: str, key) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_lock(%s::int, {key_sql})", [namespace, key])
        return cursor.fetchone()[0]


def _unlock(namespace: int, key_sql: str, key) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock(%s::int, {key_sql})", [namespace, key])
    except DatabaseError:
        # The connection is gone or broken: closing it frees every lock it held.
        with contextlib.suppress(DatabaseError):
            connection.close()


@contextlib.contextmanager
def slot(limit: int | None = None) -> Iterator[int | None]:
    """One of the ``limit`` (``GENERATION_CONCURRENCY``) slots, held until the block ends:
    its number, or ``None`` when every slot is taken (nothing is held then)."""
    limit = settings.GENERATION_CONCURRENCY if limit is None else limit
    held = next((n for n in range(limit) if _try_lock(SLOTS, "%s::int", n)), None)
    try:
        yield held
    finally:
        if held is not None:
            _unlock(SLOTS, "%s::int", held)


@contextlib.contextmanager
def claim(attempt_ids: Iterable) -> Iterator:
    """The first of ``attempt_ids`` nobody else is sending, claimed until the block ends,
    or ``None`` when every one is claimed. The caller checks that the attempt still waits
    (another may have sent it between the listing and the claim)."""
    held = None
    for attempt_id in attempt_ids:
        if _try_lock(CLAIMS, "hashtext(%s)", str(attempt_id)):
            held = attempt_id
            break
    try:
        yield held
    finally:
        if held is not None:
            _unlock(CLAIMS, "hashtext(%s)", str(held))


def slots_in_use() -> int:
    """Slots held now, by every worker (for pages and tests)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objsubid = 2 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [SLOTS],
        )
        return cursor.fetchone()[0]
