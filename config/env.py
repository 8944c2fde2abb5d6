"""Reading settings from the environment: small typed helpers that raise
``ImproperlyConfigured`` naming the variable, so a typo never runs silently."""

import os
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} must list at least one value (comma-separated).")
    return items


def env_database(name: str, default: str) -> dict:
    raw = os.environ.get(name) or default
    try:
        config = dj_database_url.parse(raw, conn_max_age=0)
    except Exception as exc:  # dj_database_url raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL ({raw!r}): {exc}") from exc
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// URL (the service runs on PostgreSQL only), got "
            f"{raw.split(':', 1)[0]!r}."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/dbname.")
    return config


def embedded_database_url(base_dir: Path) -> str:
    """The project's own PostgreSQL server (``devtools.embedded_postgres``, started by
    bin/demo and bin/test): its unix socket, as the running server recorded it in
    ``var/postgres/postmaster.pid``, else the data folder where it puts it."""
    pgdata = base_dir / "var" / "postgres"
    socket_dir = pgdata
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        lines = []
    if len(lines) > 4 and lines[4].strip():
        socket_dir = Path(lines[4].strip())
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/enrichment"


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return Path(raw).expanduser().resolve()


def env_file(name: str) -> Path | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ImproperlyConfigured(f"{name} points to {raw!r}, which is not a readable file.")
    return path


def env_origins(name: str) -> list[str]:
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.netloc
            or origin != (f"{parts.scheme}://{parts.netloc}")
        ):
            raise ImproperlyConfigured(
                f"{name} must list origins such as https://enrichment.example.com "
                f"(scheme and host, no path), got {origin!r}."
            )
    return origins


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def env_level(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ImproperlyConfigured(
            f"{name} must be a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL), got {value!r}."
        )
    return value


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate such as ``600/minute``, or ``off`` (no throttle) when said so."""
    raw = os.environ.get(name)
    value = default if raw is None or raw.strip() == "" else raw.strip().lower()
    if value == "off":
        return None
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 600/minute (per second, minute, hour or day) "
            f"or off, got {raw!r}."
        )
    return value


def env_required(name: str, why: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set {why}.")
    return value


def env_cache(name: str, default: str) -> dict:
    """``database`` (a table every process shares), ``redis://host:port/db`` or ``locmem``
    (one process only)."""
    raw = (os.environ.get(name) or default).strip()
    if raw == "database":
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "api_throttle_cache",
            # Throttle entries expire after their window; the cap only bounds a flood.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    if raw.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    if raw == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}
    raise ImproperlyConfigured(f"{name} must be database, locmem or a redis:// URL, got {raw!r}.")
