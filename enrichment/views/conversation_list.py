"""The conversations page: the list with its filters, bulk and per-row enrichment,
"Enrich all matching this filter", and the validation report panel."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from conversations.models import Conversation, jobs_of
from core.pages import HtmxHttpRequest, conversations_text, is_partial_request, redirect_to
from core.pagination import EstimatedPaginator

from ..forms import ConversationFilterForm, EnrichSelectionForm
from ..models import RunSource
from ..runs.lifecycle import (
    NothingToEnrich,
    RunStarted,
)
from ..selection import ConversationsNotFound, select_ids, select_queryset
from ..services import BulkResult, enrich
from .runs import ENRICHMENT_DONE, summary_text

PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100, 200)


def with_batch_jobs(conversations: list[Conversation]) -> list[Conversation]:
    """Attach ``batch_jobs`` (``(id, name)`` of the jobs each row belongs to): one query."""
    found = jobs_of([conversation.pk for conversation in conversations])
    for conversation in conversations:
        conversation.batch_jobs = found.get(conversation.pk, [])
    return conversations


@require_GET
@login_required
@vary_on_headers("HX-Request")
def conversation_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ConversationFilterForm(request.GET, user=request.user)
    conversations = form.filter(Conversation.objects.visible_to(request.user).for_list())
    size = page_size(request.GET.get("size"))
    page = EstimatedPaginator(conversations, size).get_page(request.GET.get("page"))
    with_batch_jobs(page.object_list)
    template = "enrichment/conversation_list.html"
    if is_partial_request(request):
        template += "#table"
    context = {
        "form": form,
        "page": page,
        "ordering": form.ordering,
        "page_size": size,
        "page_sizes": PAGE_SIZES,
        "default_page_size": PAGE_SIZE,
        # Said beside "Enrich all matching" before anyone starts a run that skips them all.
        "all_enriched": bool(page.object_list) and not conversations.to_enrich().exists(),
    }
    return render(request, template, context)


def page_size(value: str | None) -> int:
    """``?size=``: one of ``PAGE_SIZES``; anything else is the default."""
    return int(value) if value in {str(size) for size in PAGE_SIZES} else PAGE_SIZE


def _failures(result: BulkResult) -> list[dict]:
    failed = result.failures
    if not failed:
        return []
    names = dict(
        Conversation.objects.filter(pk__in=[o.pk for o in failed]).values_list(
            "pk", "conversation_name"
        )
    )
    return [
        {
            "pk": o.pk,
            "conversation_id": o.conversation_id,
            "name": names.get(o.pk) or "Untitled",
            "error": o.error or "",
        }
        for o in failed
    ]


def _next_url(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("conversation-list")


@require_POST
@login_required
def conversation_enrich(request: HtmxHttpRequest) -> HttpResponse:
    form = EnrichSelectionForm(request.POST)
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        if is_partial_request(request):
            context = {"errors": errors}
            return render(request, "enrichment/conversation_list.html#result", context, status=422)
        for error in errors:
            messages.error(request, error)
        return redirect(_next_url(request, request.POST.get("next")))
    try:
        selection = select_ids(form.cleaned_data["ids"], user=request.user)
    except ConversationsNotFound:
        raise Http404("No such conversations.") from None
    result = enrich(selection, user=request.user, source=RunSource.PAGE)
    if isinstance(result, RunStarted):
        # More than one request enriches: the run's page follows its progress.
        messages.success(
            request, f"Started a background run over {conversations_text(result.run.total)}."
        )
        return redirect_to(request, reverse("run-detail", args=[result.run.pk]))
    if is_partial_request(request):
        context = {"result": result, "failures": _failures(result)}
        response = render(request, "enrichment/conversation_list.html#result", context)
        response["HX-Trigger"] = ENRICHMENT_DONE
        return response
    level = messages.SUCCESS if result.success else messages.WARNING
    messages.add_message(request, level, summary_text(result) + ".")
    for failure in _failures(result)[: settings.ENRICHMENT_BULK_LIMIT]:
        messages.error(request, f"{failure['name']}: {failure['error']}")
    return redirect(_next_url(request, form.cleaned_data["next"]))


@require_GET
@login_required
@vary_on_headers("HX-Request")
def conversation_report(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    conversation = get_object_or_404(Conversation.objects.visible_to(request.user), pk=pk)
    template = "enrichment/conversation_report.html"
    if is_partial_request(request):
        template += "#report"
    return render(request, template, {"conversation": conversation})


@require_POST
@login_required
def conversation_enrich_matching(request: HtmxHttpRequest) -> HttpResponse:
    """Start a background run over every visible conversation the posted filters match."""
    form = ConversationFilterForm(request.POST, user=request.user)
    if not form.is_valid():
        # The list ignores a stale filter; work over "everything" must not start from one.
        messages.error(request, "The filter is not valid any more; nothing was started.")
        return redirect_to(request, reverse("conversation-list"))
    matching = form.filter(Conversation.objects.visible_to(request.user))
    if matching.exists() and not matching.to_enrich().exists():
        # A run would only skip them all.
        messages.info(
            request,
            "Every conversation matching this filter is already enriched; nothing was started.",
        )
        return redirect_to(request, f"{reverse('conversation-list')}?{form.query_string()}")
    selection = select_queryset(
        matching,
        f"Enrich all matching: {form.description()}",
    )
    try:
        started = enrich(selection, user=request.user, source=RunSource.PAGE, background=True)
    except NothingToEnrich:
        messages.info(request, "No conversations match this filter.")
        return redirect_to(request, f"{reverse('conversation-list')}?{form.query_string()}")
    run = started.run
    messages.success(request, f"Started a background run over {conversations_text(run.total)}.")
    return redirect_to(request, reverse("run-detail", args=[run.pk]))


# Background runs -------------------------------------------------------------------
