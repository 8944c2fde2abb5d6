"""The Review page: the queue's filters and statistics, and one conversation at a time
with its transcript, scores and warnings, to approve, reject or send back for revision.
Every action answers with the next conversation (an HTMX swap of the panel; a plain form
post comes back to the page)."""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from conversations.models import (
    BatchJob,
    Conversation,
    EmotionalArc,
    ErrorCategory,
    Persona,
    ReviewActionKind,
    ReviewReason,
    ReviewStatus,
    TrainingTopic,
)
from core.errors import DomainError
from core.pages import HtmxHttpRequest, is_partial_request
from enrichment.transcripts import read_enriched, read_transcript

from .queue import (
    SORTS,
    QueueFilters,
    claim_is_live,
    filters_from,
    may_review_others,
    reviewable,
    statistics,
)
from .services import claim, history, next_for_review, release, review, review_many

PAGE = "review/review.html"
# Conversations skipped in a row that the page remembers (in its links).
MAX_SKIPPED = 100
SORT_LABELS = {
    "age": "Oldest first",
    "-age": "Newest first",
    "quality": "Lowest quality first",
    "-quality": "Highest quality first",
}
DONE = {
    ReviewActionKind.APPROVED: "Approved",
    ReviewActionKind.REJECTED: "Rejected",
    ReviewActionKind.REVISION_REQUESTED: "Sent back for revision",
}


def _skipped(request: HtmxHttpRequest) -> list[uuid.UUID]:
    ids = []
    raw = request.GET.get("skip") or request.POST.get("skip") or ""
    for part in raw.split(","):
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            continue
    return ids[-MAX_SKIPPED:]


def _context(
    request: HtmxHttpRequest,
    filters: QueueFilters,
    conversation: Conversation | None,
    *,
    skipped: list[uuid.UUID],
    notice: str = "",
    error: str = "",
) -> dict:
    params = filters.as_params()
    query = urlencode(params)
    context = {
        "filters": filters,
        "query": query,
        "params": params,
        "stats": statistics(request.user, filters),
        "conversation": conversation,
        "notice": notice,
        "error": error,
        "skip": ",".join(str(pk) for pk in skipped),
        "reasons": ReviewReason.choices,
    }
    if conversation is not None:
        conversation = (
            Conversation.objects.select_related(
                "persona", "emotional_arc", "training_topic", "review_claimed_by", "approved_by"
            )
            .filter(pk=conversation.pk)
            .first()
        )
        held_by_other = (
            claim_is_live(conversation) and conversation.review_claimed_by_id != request.user.pk
        )
        next_skip = ",".join(str(pk) for pk in [*skipped, conversation.pk][-MAX_SKIPPED:])
        context.update(
            conversation=conversation,
            transcript=read_transcript(conversation),
            enriched=read_enriched(conversation),
            history=history(conversation),
            held_by_other=held_by_other,
            next_url=f"{reverse('review-next')}?{urlencode({**params, 'skip': next_skip})}",
        )
    return context


def _panel(request: HtmxHttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    return render(request, f"{PAGE}#panel", context, status=status)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def review_page(request: HtmxHttpRequest) -> HttpResponse:
    filters, errors = filters_from(request.GET)
    conversation = next_for_review(request.user, filters, skip=_skipped(request))
    context = _context(request, filters, conversation, skipped=_skipped(request))
    if is_partial_request(request):
        return _panel(request, context)
    return _whole_page(request, context, errors=errors)


def _whole_page(
    request: HtmxHttpRequest, context: dict, *, errors=None, status: int = 200
) -> HttpResponse:
    """The page around the panel: the filters' choices."""
    user = request.user
    context.update(
        errors=errors or {},
        jobs=BatchJob.objects.visible_to(user).order_by("-created_at")[:200],
        personas=Persona.objects.order_by("name"),
        arcs=EmotionalArc.objects.order_by("name"),
        topics=TrainingTopic.objects.order_by("name"),
        categories=ErrorCategory.choices,
        statuses=ReviewStatus.choices,
        sorts=[(key, SORT_LABELS[key]) for key in SORTS],
    )
    return render(request, PAGE, context, status=status)


@require_GET
@login_required
def review_next(request: HtmxHttpRequest) -> HttpResponse:
    """Skip: give back the claim on the one shown, claim the next."""
    filters, _ = filters_from(request.GET)
    skipped = _skipped(request)
    if skipped:
        release(skipped[-1], request.user)
    if not is_partial_request(request):
        return redirect(f"{reverse('review')}?{urlencode(request.GET)}")
    conversation = next_for_review(request.user, filters, skip=skipped)
    return _panel(request, _context(request, filters, conversation, skipped=skipped))


@require_GET
@login_required
def review_show(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """One conversation of the queue (going back to it): claimed unless another reviewer
    holds it, which the panel says."""
    filters, _ = filters_from(request.GET)
    conversation = claim(get_object_or_404(reviewable(request.user), pk=pk), request.user)
    context = _context(request, filters, conversation, skipped=_skipped(request))
    if is_partial_request(request):
        return _panel(request, context)
    return _whole_page(request, context)


@require_POST
@login_required
def review_act(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    filters, _ = filters_from(request.POST)
    skipped = _skipped(request)
    conversation = get_object_or_404(reviewable(request.user), pk=pk)
    action = request.POST.get("action", "")
    try:
        review(
            conversation,
            request.user,
            action,
            request.POST.get("comment", ""),
            request.POST.getlist("reasons"),
            expected_status=request.POST.get("expected_status") or None,
        )
    except DomainError as exc:
        context = _context(request, filters, conversation, skipped=skipped, error=exc.message)
        if not is_partial_request(request):
            return _whole_page(request, context, status=exc.status)
        return _panel(request, context, status=422)
    notice = f"{DONE[ReviewActionKind(action)]}: “{conversation.display_name}”."
    if not is_partial_request(request):
        messages.success(request, notice)
        return redirect(f"{reverse('review')}?{urlencode(filters.as_params())}")
    following = next_for_review(request.user, filters, skip=skipped)
    return _panel(request, _context(request, filters, following, skipped=skipped, notice=notice))


BULK_ACTIONS = {"approved": "Approved", "rejected": "Rejected"}


@require_POST
@login_required
def review_selected(request: HtmxHttpRequest) -> HttpResponse:
    """Approve or reject the conversations ticked on the conversations page (each on its
    own: one that cannot be reviewed, or whose review status is not the one its row
    showed any more, is listed with why, the others are reviewed)."""
    action = request.POST.get("review_action", "")
    comment = request.POST.get("review_comment", "").strip()
    reasons = request.POST.getlist("review_reasons")
    ids = []
    for raw in request.POST.getlist("ids"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    error = ""
    results = []
    if action not in BULK_ACTIONS:
        error = "Choose Approve or Reject."
    elif not ids:
        error = "Tick the conversations to review first."
    elif len(ids) > settings.REVIEW_BULK_LIMIT:
        error = f"At most {settings.REVIEW_BULK_LIMIT} conversations at once."
    else:
        rows = Conversation.objects.filter(is_active=True, pk__in=ids)
        if not (request.user.is_staff or may_review_others(request.user)):
            rows = rows.filter(created_by=request.user)
        # The review status each ticked row showed: one that changed since is left alone.
        shown = {pk: request.POST[f"shown-{pk}"] for pk in ids if f"shown-{pk}" in request.POST}
        try:
            results = review_many(
                [(row, str(row.pk)) for row in rows.order_by("created_at", "pk")],
                request.user,
                action,
                comment,
                reasons,
                expected_statuses=shown,
            )
        except DomainError as exc:
            error = exc.message
    names = dict(
        Conversation.objects.filter(pk__in=[r.pk for r in results]).values_list(
            "pk", "conversation_name"
        )
    )
    reviewed = [r for r in results if r.reviewed]
    skipped = [(names.get(r.pk) or "Untitled", r) for r in results if not r.reviewed]
    if not is_partial_request(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{BULK_ACTIONS[action]}: {len(reviewed)}.")
            for name, result in skipped:
                messages.warning(request, f"{name}: {result.error}")
        return redirect(reverse("conversation-list"))
    context = {
        "error": error,
        "verb": BULK_ACTIONS.get(action, ""),
        "reviewed": reviewed,
        "skipped": skipped,
    }
    return render(request, "review/selected_result.html", context, status=422 if error else 200)
