"""gunicorn settings for bin/serve (``--config python:config.gunicorn``).

``BIND`` and ``WEB_CONCURRENCY`` choose the address and the number of worker processes;
any other gunicorn option can be given in ``GUNICORN_CMD_ARGS``.
"""

import os

from config.logs import logging_config

bind = os.environ.get("BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)  # checked by bin/serve
# The app is imported by each worker after the fork, so each opens its own database
# connections (a pool per process) and nothing is shared between workers.
preload_app = False
# A bulk call of 100 conversations or a large download may take a while; a worker silent
# for longer than this is restarted.
timeout = 120
graceful_timeout = 30
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
