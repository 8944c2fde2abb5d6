"""Request throttles of the API (``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``) and the
client address they, and the login lockout, count by.

Rates come from ``API_THROTTLE_RATES`` and counts live in the ``API_THROTTLE_CACHE`` cache,
both read at call time, so that every process of a deployment shares the counts and tests
can change the rates.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction
from django.http import HttpRequest
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle


def client_address(request: HttpRequest) -> str:
    """The caller's address: the peer's, or with ``DJANGO_NUM_PROXIES`` set, the one the
    last trusted proxy saw (``X-Forwarded-For``)."""
    return BaseThrottle().get_ident(request)


_PROCESS_LOCK = threading.Lock()


@contextmanager
def locked(cache: BaseCache, key: str) -> Iterator[None]:
    """Hold ``key`` of the throttle cache for one read-and-write of its count, across every
    process that shares the cache: a PostgreSQL advisory lock for the database table (until
    the transaction ends), a Redis lock for Redis, a lock of this process for ``locmem``
    (whose counts no other process sees anyway)."""
    if isinstance(cache, DatabaseCache):
        alias = router.db_for_write(cache.cache_model_class)
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
            yield
    elif isinstance(cache, RedisCache):
        client = cache._cache.get_client(key, write=True)
        with client.lock(f"{key}:lock", timeout=10, blocking_timeout=10):
            yield
    else:
        with _PROCESS_LOCK:
            yield


class _FromSettings:
    scope: str

    @property
    def cache(self) -> BaseCache:
        return caches[settings.API_THROTTLE_CACHE]

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """DRF's check, its read and write of the count made one step (``locked``): two
        calls at once can no longer both read the same count and both pass."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        with locked(self.cache, self.key):
            self.history = self.cache.get(self.key, [])
            self.now = self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            if len(self.history) >= self.num_requests:
                return self.throttle_failure()
            return self.throttle_success()

    def wait(self) -> float | None:
        # DRF gives no wait once the history outgrew the rate (after the rate was lowered),
        # so a 429 would lack its Retry-After: then it is until enough of it has expired.
        if self.history and len(self.history) > self.num_requests:
            oldest_that_counts = self.history[self.num_requests - 1]
            return max(0.0, self.duration - (self.now - oldest_that_counts))
        return super().wait()


class AnonThrottle(_FromSettings, AnonRateThrottle):
    """Calls without credentials (the schema, the docs), per address."""


class UserThrottle(_FromSettings, UserRateThrottle):
    """Calls of one signed-in user or token owner, from anywhere."""


class FailedTokenThrottle(_FromSettings, AnonRateThrottle):
    """Wrong API tokens, per address (the key is checked before, so valid keys never count
    and are never refused): past the rate, each further wrong key answers 429."""

    scope = "failed_token"

    def record_failure(self, request) -> float | None:
        """Count one wrong key from this address; the seconds it must wait when that one
        went past the rate, else None."""
        if self.rate is None:
            return None
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        with locked(self.cache, self.key):
            self.history = self.cache.get(self.key, [])
            self.now = self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)
        if len(self.history) > self.num_requests:
            return self.wait()
        return None
