"""gunicorn settings for bin/serve (``--config python:config.gunicorn``).

``BIND`` and ``WEB_CONCURRENCY`` choose the address and the number of worker processes;
any other gunicorn option can be given in ``GUNICORN_CMD_ARGS``.

The app is served over ASGI by gunicorn's asyncio worker (``config.serving``): requests are
read on the event loop, so slow clients hold sockets, not the app, and a body that stalls
for ``WEB_READ_TIMEOUT`` seconds ends its connection.
"""

import os

from config.logs import logging_config


def env_seconds(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"bin/serve: {name} must be a whole number of seconds, got {raw!r}.")
    return int(raw)


bind = os.environ.get("BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)  # checked by bin/serve
worker_class = "asgi"
# Connections one worker holds at once (idle keep-alive and slow clients included).
worker_connections = 1000
# The app is imported by each worker after the fork, so each opens its own database
# connections (a pool per process) and nothing is shared between workers.
preload_app = False
# The asyncio worker waits this long for more of a request body before it gives up on the
# connection; its heartbeat runs on the event loop, which views never block (they run in
# threads), so the same number also restarts a worker whose loop froze.
timeout = env_seconds("WEB_READ_TIMEOUT", 10)
keepalive = 5
graceful_timeout = 30
asgi_lifespan = "off"
# The app logs one access line per request, with its request id; gunicorn's own lines
# (start, stop, worker restarts) go to stdout in the same format.
accesslog = None
errorlog = "-"
logconfig_dict = logging_config(
    fmt=(os.environ.get("DJANGO_LOG_FORMAT") or "text").strip().lower(),
    root_level="INFO",
    levels={"gunicorn.error": "INFO", "gunicorn.access": "WARNING"},
)
# No runtime control socket: a supervisor (systemd) manages the process.
control_socket_disable = True
# Whether a request came over HTTPS is Django's call (DJANGO_TRUST_X_FORWARDED_PROTO), never
# gunicorn's: it would otherwise trust X-Forwarded-Proto from any local client.
secure_scheme_headers: dict[str, str] = {}
