"""``GET /healthz``: whether this process reaches the database and the file storage, and
how many background workers were seen beating.

No login, so a load balancer or a supervisor can ask. The answer names what failed but
not why in detail (the log has the traceback): it is public. No worker running is not a
failure of the web process (the answer stays 200) but it is said: ``workers: 0``, and
``checks.workers: "none"``.
"""

import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.background import live_workers
from core.storage import check_storage

logger = logging.getLogger("health")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "storage": check_storage}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    failures: list[str] = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.exception("Health check failed: %s", name)
            checks[name] = "error"
            failures.append(f"{name} unavailable ({type(exc).__name__})")
        else:
            checks[name] = "ok"
    workers = None
    if checks["database"] == "ok":
        workers = live_workers()
        checks["workers"] = "ok" if workers else "none"
    if failures:
        return JsonResponse(
            {
                "success": False,
                "error": "; ".join(failures),
                "code": "unavailable",
                "checks": checks,
                "workers": workers,
            },
            status=503,
        )
    return JsonResponse({"success": True, "checks": checks, "workers": workers})
