"""API tokens: created by their owner (the key shown once), revoked, expiring."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.models import ApiToken

# Writing ``last_used_at`` on every call would cost an UPDATE per request; once a minute
# tells the owner as much.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is as safe as a slow one and costs nothing
    # per request.
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_token(user, *, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with its key, which is never stored."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        expires_at=expires_at,
    )
    return token, key


def revoke_token(token: ApiToken) -> None:
    token.delete()


def find_token(key: str) -> ApiToken | None:
    """The token whose key this is (expired ones included), with its user."""
    return ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()


def record_use(token: ApiToken, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
