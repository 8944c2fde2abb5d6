"""Whom an API call acts for."""

from django.contrib.auth import get_user_model
from rest_framework.request import Request

from core.api.errors import ApiError, not_found

_MAX_USER_PK = 2**63 - 1


def acting_user(request: Request, user_id: str | None):
    """The caller, or (staff only) the user ``user_id`` names by username or id."""
    user = request.user
    if user_id is None or user_id in {str(user.pk), user.get_username()}:
        return user
    if not user.is_staff:
        raise ApiError(
            403,
            "userId names another user; only staff may act for others.",
            code="permission_denied",
        )
    missing = not_found("No such user.", missing=[user_id])
    if "\x00" in user_id:
        raise missing  # no username can hold it, and PostgreSQL refuses to compare it
    User = get_user_model()
    match = User.objects.filter(username=user_id).first()
    if match is None and user_id.isascii() and user_id.isdigit() and int(user_id) <= _MAX_USER_PK:
        match = User.objects.filter(pk=int(user_id)).first()
    if match is None:
        raise missing
    return match
