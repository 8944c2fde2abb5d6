"""``Authorization: Token <key>`` with our own tokens (``core.tokens``): hashed,
named, expiring, and wrong keys throttled per address."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from core.api.throttles import FailedTokenThrottle
from core.models import ApiToken
from core.tokens import find_token, record_use


class ApiTokenAuthentication(TokenAuthentication):
    """The key is checked first: a valid key is never refused for what other callers
    from the same address did. Only wrong keys count; past ``failed_token`` of them an
    address gets 429 instead of 401 for each further wrong key."""

    model = ApiToken

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # no token: other authentication classes may apply
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            wait = FailedTokenThrottle().record_failure(request)
            if wait is not None:
                raise exceptions.Throttled(
                    wait, detail="Too many wrong tokens from your address."
                ) from None
            raise

    def authenticate_credentials(self, key: str):
        token = find_token(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.is_usable():
            raise exceptions.AuthenticationFailed("Token expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        record_use(token)
        return token.user, token
