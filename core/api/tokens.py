"""Your API tokens through the API: list them, create one (its key is shown in that answer
only), revoke one. Everyone sees and revokes only their own, staff included, as on the
tokens page; the same service functions stand behind both."""

from datetime import timedelta

from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core.models import ApiToken
from core.tokens import create_token, revoke_token

from .errors import ERROR_RESPONSES, INVALID, NOT_FOUND, TOO_LARGE, not_found
from .pages import PageSize, PaginationSerializer, paginate

TOKEN_PAGE = PageSize(default=50, maximum=500)
MAX_EXPIRY_DAYS = 3650
# A name: something besides spaces, and no NUL (text columns cannot hold one).
NAME_PATTERN = r"^[^\u0000]*[^\u0000 \t\n\r][^\u0000]*$"


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell keys apart.")
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)  # noqa: N815
    expiresAt = serializers.DateTimeField(  # noqa: N815
        source="expires_at", allow_null=True, help_text="null: never expires."
    )
    expired = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_expired(self, token: ApiToken) -> bool:
        return not token.is_usable()

    def get_url(self, token: ApiToken) -> str:
        return f"/api/tokens/{token.pk}"


class NewTokenSerializer(TokenSerializer):
    key = serializers.CharField(
        help_text="The key, for `Authorization: Token <key>`. Shown in this answer only: "
        "only a hash of it is kept."
    )


class TokenListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = TokenSerializer(many=True)
    pagination = PaginationSerializer()


class CreateTokenRequestSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=100,
        # Taken as the pattern says (something besides spaces, no NUL), then trimmed.
        trim_whitespace=False,
        validators=[RegexValidator(NAME_PATTERN, "Must hold something besides spaces.")],
        help_text="What the token is for, e.g. “nightly export”.",
    )
    expiresInDays = serializers.IntegerField(  # noqa: N815
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="Days until it stops working; absent or null: never.",
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["The body must be a JSON object."]})
        errors = {key: ["Unknown field."] for key in sorted(set(data) - set(self.fields))}
        if "name" in data and not isinstance(data["name"], str):
            errors["name"] = ["Must be a string."]
        days = data.get("expiresInDays")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            errors["expiresInDays"] = ["Must be a whole number of days."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


@extend_schema(
    methods=["GET"],
    operation_id="list_api_tokens",
    parameters=TOKEN_PAGE.parameters(),
    responses={200: TokenListSerializer, 400: INVALID, **ERROR_RESPONSES},
    description="Your API tokens (never their keys), newest first, a page at a time.",
)
@extend_schema(
    methods=["POST"],
    operation_id="create_api_token",
    request=CreateTokenRequestSerializer,
    responses={
        201: OpenApiResponse(NewTokenSerializer, description="The token, with its key."),
        400: INVALID,
        **ERROR_RESPONSES,
        413: TOO_LARGE,
    },
    description="A new token for you. Its key is in this answer only: keep it.",
)
@api_view(["GET", "POST"])
def tokens_view(request: Request) -> Response:
    if request.method == "GET":
        page = paginate(request, ApiToken.objects.owned_by(request.user), TOKEN_PAGE)
        return Response(
            {
                "success": True,
                "data": TokenSerializer(page.rows, many=True).data,
                "pagination": page.pagination,
            }
        )
    serializer = CreateTokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    days = data.get("expiresInDays")
    expires_at = timezone.now() + timedelta(days=days) if days else None
    name = data["name"].strip(" \t\n\r")
    token, key = create_token(request.user, name=name, expires_at=expires_at)
    body = {**TokenSerializer(token).data, "key": key}
    return Response(body, status=201, headers={"Location": body["url"]})


@extend_schema(
    operation_id="revoke_api_token",
    request=None,
    responses={
        204: OpenApiResponse(description="Revoked: the key no longer works."),
        **ERROR_RESPONSES,
        404: NOT_FOUND,
    },
    description="Revoke one of your tokens (the one you call with included).",
)
@api_view(["DELETE"])
def token_view(request: Request, token_id: int) -> Response:
    token = ApiToken.objects.owned_by(request.user).filter(pk=token_id).first()
    if token is None:
        raise not_found("Token not found.", missing=[str(token_id)])
    revoke_token(token)
    return Response(status=204)
