"""The batch-job pages: the list, one job with its progress and items, and "Enrich All"."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from enrichment.views import ENRICHMENT_DONE, HtmxHttpRequest, is_partial_request, summary_text

from .models import BatchJob
from .services import enrich_batch_job, get_job_enrichment_state, list_batch_jobs

JOBS_PER_PAGE = 25
ITEMS_PER_PAGE = 50
DETAIL = "batches/batch_job_detail.html"


@require_GET
@login_required
def batch_job_list(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(list_batch_jobs(request.user), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    template = "batches/batch_job_list.html"
    if is_partial_request(request):
        template += "#jobs"
    response = render(request, template, {"page": page})
    patch_vary_headers(response, ("HX-Request",))
    return response


def _items_page(job: BatchJob, number: str | None):
    items = job.items.select_related("conversation").order_by("position")
    return Paginator(items, ITEMS_PER_PAGE).get_page(number)


@require_GET
@login_required
def batch_job_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(BatchJob.objects.visible_to(request.user), pk=pk)
    items = _items_page(job, request.GET.get("page"))
    if is_partial_request(request):
        response = render(request, f"{DETAIL}#items", {"job": job, "items": items})
    else:
        state = get_job_enrichment_state(job, user=request.user)
        response = render(request, DETAIL, {"job": job, "items": items, "state": state})
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def batch_job_progress(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(BatchJob.objects.visible_to(request.user), pk=pk)
    if not is_partial_request(request):
        return redirect("batch-job-detail", pk=job.pk)
    response = render(request, f"{DETAIL}#progress", {"job": job})
    if job.is_finished:
        # The rest of the page (items, "Enrich All") changes when a job ends: reload it.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@login_required
def batch_job_enrich(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(BatchJob.objects.visible_to(request.user), pk=pk)
    only_failed = request.POST.get("only_failed") == "1"
    result = enrich_batch_job(job, user=request.user, only_failed=only_failed)
    if is_partial_request(request):
        state = get_job_enrichment_state(job, user=request.user)
        context = {"job": job, "state": state, "result": result, "only_failed": only_failed}
        response = render(request, f"{DETAIL}#enrichment", context)
        response["HX-Trigger"] = ENRICHMENT_DONE
        return response
    if not result.outcomes:
        messages.info(request, "There was nothing to enrich.")
    else:
        level = messages.SUCCESS if result.success else messages.WARNING
        messages.add_message(request, level, summary_text(result) + ".")
    return redirect("batch-job-detail", pk=job.pk)
