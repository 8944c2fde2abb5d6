"""The page of one conversation: its transcript, scaffolding, groups (batch jobs),
enrichment status with the validation report, its training pairs, downloads, and the
actions (enrich, retry, force re-enrich, deactivate)."""

import uuid
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from conversations.models import Conversation, ReviewAction, ReviewReason
from core.pages import HtmxHttpRequest, redirect_to

from ..failure_advice import failure_advice
from ..models import RunSource
from ..pipeline.outcomes import ENRICHED, FAILED, Outcome
from ..services import deactivate, enrich_one
from ..transcripts import read_enriched, read_transcript
from .conversation_list import with_batch_jobs
from .repair import repair_context

DETAIL = "enrichment/conversation_detail.html"
# Review actions shown on the page, newest first.
REVIEW_HISTORY = 100
SKIP_MESSAGES = {
    "already_enriched": "already enriched (use Re-enrich to run it again)",
    "in_progress": "being enriched elsewhere right now",
    "inactive": "deactivated",
    "previously_failed": "failed before",
}


def visible_conversation(request: HtmxHttpRequest, pk: uuid.UUID) -> Conversation:
    visible = Conversation.objects.visible_to(request.user).select_related(
        "persona", "emotional_arc", "training_topic", "template", "created_by"
    )
    return get_object_or_404(visible, pk=pk)


def list_address(request: HtmxHttpRequest, value: str | None) -> str | None:
    """``value`` when it is the address of the conversations list on this site (with
    its filters), as a local address; else ``None``."""
    if not value or not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(value)
    if parts.path != reverse("conversation-list"):
        return None
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def came_from(request: HtmxHttpRequest) -> str:
    """The (filtered) conversations list the person came from: ``?back=``, or the page
    that linked here; the whole list otherwise."""
    return (
        list_address(request, request.GET.get("back"))
        or list_address(request, request.headers.get("Referer"))
        or reverse("conversation-list")
    )


def review_history(conversation: Conversation) -> list[ReviewAction]:
    """Its review actions, newest first, each reason with its label (``reason_labels``)."""
    actions = list(
        conversation.review_actions.select_related("reviewer").order_by("-created_at", "-id")[
            :REVIEW_HISTORY
        ]
    )
    labels = dict(ReviewReason.choices)
    for action in actions:
        reasons = action.reasons if isinstance(action.reasons, list) else []
        action.reason_labels = [labels.get(reason, str(reason)) for reason in reasons]
    return actions


@require_GET
@login_required
def conversation_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    conversation = visible_conversation(request, pk)
    with_batch_jobs([conversation])
    context = {
        "back": came_from(request),
        "conversation": conversation,
        "transcript": read_transcript(conversation),
        "enriched": read_enriched(conversation),
        **repair_context(conversation),
        "review_history": review_history(conversation),
        "failure_advice": failure_advice(conversation),
    }
    return render(request, DETAIL, context)


def _outcome_message(request: HtmxHttpRequest, conversation: Conversation, outcome: Outcome):
    name = f"“{conversation.display_name}”"
    if outcome.status == ENRICHED:
        messages.success(request, f"{name} is enriched.")
    elif outcome.status == FAILED:
        messages.error(request, f"{name} failed enrichment: {outcome.error}")
    else:
        reason = SKIP_MESSAGES.get(outcome.reason or "", outcome.reason or "skipped")
        messages.info(request, f"{name} was not enriched: {reason}.")


@require_POST
@login_required
def conversation_action(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Enrich (or retry) the conversation, re-enrich it by force, or deactivate it; then
    back to its page (or, once deactivated, to the list it was opened from)."""
    conversation = visible_conversation(request, pk)
    action = request.POST.get("action")
    back = list_address(request, request.POST.get("back"))
    page = reverse("conversation-detail", args=[conversation.pk])
    if back:
        # The page keeps knowing which list it was opened from.
        page += "?" + urlencode({"back": back})
    if action == "deactivate":
        deactivate(conversation)
        messages.success(
            request,
            f"“{conversation.display_name}” is deactivated: it is left out of lists and "
            "enrichment. Staff can make it active again in the admin.",
        )
        return redirect_to(request, back or reverse("conversation-list"))
    if action not in {"enrich", "force"}:
        messages.error(request, "Unknown action; nothing was done.")
        return redirect_to(request, page)
    outcome = enrich_one(
        conversation, user=request.user, source=RunSource.PAGE, force=action == "force"
    )
    _outcome_message(request, conversation, outcome)
    return redirect_to(request, page)
