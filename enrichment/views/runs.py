"""The background-run pages: the list, one run with its progress and failures, cancel
and retry failed; and how a result or a run's progress is put in words."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from conversations.models import ErrorCategory
from core.lists import ListSpec, read_list
from core.pages import HtmxHttpRequest, conversations_text, is_partial_request, redirect_to
from core.pagination import EstimatedPaginator

from ..models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from ..runs.lifecycle import (
    NothingToEnrich,
    RunNotCancellable,
    cancel_run,
    retry_failed,
)
from ..services import BulkResult

RUNS_PER_PAGE = 25
RUN_LIST = ListSpec(
    search_fields=("description",),
    statuses=RunStatus.choices,
    name_field="description",
    search_placeholder="What the run is over",
)
FAILURES_PER_PAGE = 50
RUN_DETAIL = "enrichment/run_detail.html"
# Tells the page's tables to reload their rows (and so their badges) after an enrichment.
ENRICHMENT_DONE = "enrichment-done"
# Tells them the same while a run goes on: the poll saw conversations processed.
ENRICHMENT_PROGRESS = "enrichment-progress"


def summary_text(result: BulkResult) -> str:
    summary = result.summary
    return (
        f"Enriched: {summary['successful']}, Failed: {summary['failed']}, "
        f"Skipped: {result.skipped_text}"
    )


def run_progress_text(run: EnrichmentRun) -> str:
    return f"{run.processed} of {conversations_text(run.total)} processed"


def _visible_run(request: HtmxHttpRequest, pk: uuid.UUID) -> EnrichmentRun:
    visible = EnrichmentRun.objects.visible_to(request.user).select_related(
        "created_by", "batch_job"
    )
    return get_object_or_404(visible, pk=pk)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    listing = read_list(request.GET, RUN_LIST)
    visible = listing.apply(
        EnrichmentRun.objects.visible_to(request.user).select_related("created_by")
    )
    page = EstimatedPaginator(visible, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    template = "enrichment/run_list.html"
    if is_partial_request(request):
        template += "#runs"
    polling = any(not run.is_finished for run in page.object_list)
    return render(request, template, {"page": page, "polling": polling, "listing": listing})


def _failures_page(run: EnrichmentRun, number: str | None) -> Page:
    failed = (
        run.items.filter(outcome=ItemOutcome.FAILED)
        .select_related("conversation")
        .only(
            "position",
            "error",
            "error_category",
            "enrichment_status",
            "conversation__id",
            "conversation__conversation_id",
            "conversation__conversation_name",
        )
        .order_by("position")
    )
    return EstimatedPaginator(failed, FAILURES_PER_PAGE, key="position").get_page(number)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def run_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _visible_run(request, pk)
    failures = _failures_page(run, request.GET.get("page"))
    template = RUN_DETAIL
    if is_partial_request(request):
        template += "#failures"
    context = {"run": run, "failures": failures, "retry_repeats": _retry_repeats(run)}
    return render(request, template, context)


def _retry_repeats(run: EnrichmentRun) -> bool:
    """Every failure of the finished run failed validation: retrying them as they are
    would fail them again (their files need fixing first)."""
    if not (run.is_finished and run.failed):
        return False
    failed = run.items.filter(outcome=ItemOutcome.FAILED)
    return not failed.exclude(error_category=ErrorCategory.VALIDATION).exists()


@require_GET
@login_required
def run_progress(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The run's status and progress, polled by its page until the run ends."""
    run = _visible_run(request, pk)
    if not is_partial_request(request):
        return redirect("run-detail", pk=run.pk)
    response = render(request, f"{RUN_DETAIL}#run", {"run": run})
    if run.is_finished:
        # The last poll: the failures list reloads, and so do the retry actions.
        response["HX-Trigger"] = ENRICHMENT_DONE
    elif request.GET.get("seen") != str(run.failed):
        # Conversations failed since the last poll: the failures list reloads.
        response["HX-Trigger"] = ENRICHMENT_PROGRESS
    return response


@require_POST
@login_required
def run_cancel(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _visible_run(request, pk)
    try:
        cancel_run(run)
        notice = None
    except RunNotCancellable as exc:
        notice = str(exc)
    if is_partial_request(request):
        response = render(request, f"{RUN_DETAIL}#run", {"run": run, "notice": notice})
        if notice is None:
            response["HX-Trigger"] = ENRICHMENT_DONE
        return response
    if notice:
        messages.warning(request, notice)
    else:
        messages.success(request, f"Run cancelled: {run_progress_text(run)}.")
    return redirect("run-detail", pk=run.pk)


@require_POST
@login_required
def run_retry_failed(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = _visible_run(request, pk)
    try:
        retry = retry_failed(run, user=request.user, source=RunSource.PAGE).run
    except NothingToEnrich as exc:
        messages.info(request, str(exc))
        return redirect_to(request, reverse("run-detail", args=[run.pk]))
    messages.success(
        request,
        f"Retrying {retry.total} failed conversation{pluralize(retry.total)} in the background.",
    )
    return redirect_to(request, reverse("run-detail", args=[retry.pk]))
