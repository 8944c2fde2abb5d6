"""The API tokens page: a signed-in user creates tokens (the key shown once) and revokes
them; every user sees only their own."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.models import ApiToken
from core.pages import HtmxHttpRequest, is_partial_request
from core.tokens import create_token, revoke_token

TEMPLATE = "enrichment/api_tokens.html"
# The new key waits in the (server-side) session between the POST and the page it
# redirects to, and is dropped as soon as that page shows it.
NEW_KEY = "new_api_token"
EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “nightly export”."
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )


def _render(request: HtmxHttpRequest, form: TokenForm, new_key: dict | None, status=200):
    tokens = ApiToken.objects.owned_by(request.user)
    template = f"{TEMPLATE}#tokens" if is_partial_request(request) else TEMPLATE
    context = {"form": form, "tokens": tokens, "new_key": new_key, "now": timezone.now()}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def api_tokens(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request, TokenForm(), request.session.pop(NEW_KEY, None))
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render(request, form, None, status=422 if request.htmx else 400)
    days = form.cleaned_data["expires_in_days"]
    expires_at = timezone.now() + timedelta(days=days) if days else None
    token, key = create_token(request.user, name=form.cleaned_data["name"], expires_at=expires_at)
    new_key = {"name": token.name, "key": key}
    if request.htmx:
        return _render(request, TokenForm(), new_key)
    request.session[NEW_KEY] = new_key
    return redirect("api-tokens")


@require_POST
@login_required
def api_token_revoke(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.owned_by(request.user), pk=pk)
    revoke_token(token)
    if request.htmx:
        return _render(request, TokenForm(), None)  # the row is gone: that says it
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api-tokens")
