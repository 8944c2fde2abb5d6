"""The enrichment panel of a batch job's page: "Enrich All" and "Retry failed" (in the
request, or as the job's background run, whose progress the panel polls), and cancelling
that run. The job's page (``intake.views``) includes the panel."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from conversations.models import COUNT_FIELDS, BatchJob
from core.pages import HtmxHttpRequest, is_partial_request

from ..models import EnrichmentRun
from ..runs.lifecycle import RunNotCancellable, RunStarted
from ..services import (
    cancel_job_run,
    enrich_batch_job,
    job_enrichment_panel,
    latest_job_run,
)
from .runs import ENRICHMENT_DONE, ENRICHMENT_PROGRESS, run_progress_text, summary_text

PANEL = "enrichment/batch_job_enrichment.html"


def _visible_job(request: HtmxHttpRequest, pk: uuid.UUID) -> BatchJob:
    job = BatchJob.objects.visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such batch job.")
    return job


def _panel(request: HtmxHttpRequest, job: BatchJob, run=..., **extra) -> dict:
    return {"job": job, **job_enrichment_panel(job, user=request.user, run=run), **extra}


@require_GET
@login_required
def batch_job_enrichment(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The enrichment panel alone: what the page polls while a background run goes on."""
    if not is_partial_request(request):
        return redirect("batch-job-detail", pk=_visible_job(request, pk).pk)
    job = _visible_job(request, pk)
    context = _panel(request, job)
    response = render(request, PANEL, context)
    run = context["run"]
    if run is not None and run.is_finished:
        # The last poll: the items table reloads its badges.
        response["HX-Trigger"] = ENRICHMENT_DONE
    elif run is not None and request.GET.get("seen") != str(run.processed):
        # Conversations were enriched since the last poll: the items table reloads.
        response["HX-Trigger"] = ENRICHMENT_PROGRESS
    return response


@require_POST
@login_required
def batch_job_enrich(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _visible_job(request, pk)
    only_failed = request.POST.get("only_failed") == "1"
    result = enrich_batch_job(job, user=request.user, only_failed=only_failed)
    if isinstance(result, RunStarted):
        if is_partial_request(request):
            return render(request, PANEL, _panel(request, job, result.run))
        messages.info(
            request, f"Enrichment runs in the background: {run_progress_text(result.run)}."
        )
        return redirect("batch-job-detail", pk=job.pk)
    job.refresh_from_db(fields=COUNT_FIELDS)  # the enrichment just moved them
    if is_partial_request(request):
        # The synchronous summary takes the place of an older run's.
        context = _panel(request, job, None, result=result, only_failed=only_failed)
        response = render(request, PANEL, context)
        response["HX-Trigger"] = ENRICHMENT_DONE
        return response
    if not result.outcomes:
        messages.info(request, "There was nothing to enrich.")
    else:
        level = messages.SUCCESS if result.success else messages.WARNING
        messages.add_message(request, level, summary_text(result) + ".")
    return redirect("batch-job-detail", pk=job.pk)


@require_POST
@login_required
def batch_job_cancel_run(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Cancel the job's background run, whoever started it (an automatic run too)."""
    job = _visible_job(request, pk)
    try:
        run_id = uuid.UUID(request.POST.get("run", ""))
    except ValueError:
        raise Http404("No such run of this job.") from None
    try:
        run, notice = cancel_job_run(job, run_id), None
    except EnrichmentRun.DoesNotExist:
        raise Http404("No such run of this job.") from None
    except RunNotCancellable as exc:
        run, notice = latest_job_run(job), str(exc)
    if is_partial_request(request):
        response = render(request, PANEL, _panel(request, job, run, notice=notice))
        if notice is None:
            response["HX-Trigger"] = ENRICHMENT_DONE
        return response
    if notice:
        messages.warning(request, notice)
    else:
        messages.success(request, f"Enrichment cancelled: {run_progress_text(run)}.")
    return redirect("batch-job-detail", pk=job.pk)
