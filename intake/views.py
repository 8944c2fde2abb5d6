"""The batch-job pages: the list, one job with its progress and items (its enrichment panel
is enrichment's: ``enrichment.views.jobs``), and the "New batch job" upload."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFilesSent
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat, pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from conversations.models import BatchJob
from core.errors import DomainError
from core.lists import read_list
from core.pages import HtmxHttpRequest, is_partial_request, redirect_to
from core.pagination import EstimatedPaginator
from enrichment.services import job_enrichment_panel
from intake.files import ConversationImport
from intake.forms import UploadForm
from intake.services import JOB_LIST, jobs_page
from intake.upload import Upload, import_upload, read_upload

JOBS_PER_PAGE = 25
ITEMS_PER_PAGE = 50
DETAIL = "intake/batch_job_detail.html"
NEW = "intake/batch_job_new.html"
# Tells the job's items table to reload: items arrived while the page was open.
ITEMS_ADDED = "items-added"


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_job_list(request: HtmxHttpRequest) -> HttpResponse:
    listing = read_list(request.GET, JOB_LIST)
    page = jobs_page(request.user, request.GET.get("page"), per_page=JOBS_PER_PAGE, listing=listing)
    template = "intake/batch_job_list.html"
    if is_partial_request(request):
        template += "#jobs"
    return render(request, template, {"page": page, "listing": listing})


def _items_page(job: BatchJob, number: str | None):
    items = job.items.select_related("conversation").order_by("position")
    return EstimatedPaginator(items, ITEMS_PER_PAGE, key="position").get_page(number)


def _visible_job(request: HtmxHttpRequest, pk: uuid.UUID) -> BatchJob:
    job = BatchJob.objects.visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such batch job.")
    return job


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_job_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _visible_job(request, pk)
    items = _items_page(job, request.GET.get("page"))
    if is_partial_request(request):
        return render(request, f"{DETAIL}#items", {"job": job, "items": items})
    panel = job_enrichment_panel(job, user=request.user)
    return render(request, DETAIL, {"job": job, "items": items, **panel})


@require_GET
@login_required
def batch_job_progress(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _visible_job(request, pk)
    if not is_partial_request(request):
        return redirect("batch-job-detail", pk=job.pk)
    response = render(request, f"{DETAIL}#progress", {"job": job})
    if job.is_finished:
        # The rest of the page (items, "Enrich All") changes when a job ends: reload it.
        response["HX-Refresh"] = "true"
    elif request.GET.get("seen") != str(job.total_items):
        # Items arrived since the last poll: the items table reloads.
        response["HX-Trigger"] = ITEMS_ADDED
    return response


# New batch job: files uploaded in the browser ------------------------------------------


def too_many_files_text() -> str:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    return f"At most {limit:,} files per upload: import them in parts."


def too_many_files(request: HtmxHttpRequest) -> HttpResponse:
    """The page (or its preview) saying so, for a body Django refused to parse: it has
    more files than ``UPLOAD_MAX_FILES``. The error handler answers with it, because the
    body is read (for the CSRF token) before any view runs."""
    context = {"form": UploadForm(), "problem": too_many_files_text(), **_limits()}
    template = f"{NEW}#preview" if is_partial_request(request) else NEW
    return render(request, template, context, status=422)


def too_large_text(total: int) -> str:
    limit = settings.UPLOAD_MAX_BYTES
    return (
        f"These files add up to {filesizeformat(total)}; one upload takes at most "
        f"{filesizeformat(limit)} ({limit:,} bytes): import them in parts."
    )


def _read_upload_form(request: HtmxHttpRequest) -> tuple[UploadForm, Upload | None, str, int]:
    """The posted form and its files read (``None``, why and the status to answer, when
    they cannot be)."""
    try:
        request.FILES  # noqa: B018 (parses the body, which may have too many files)
    except TooManyFilesSent:
        return UploadForm(), None, too_many_files_text(), 422
    # The files are on disk already (temporary files): only their sizes are looked at.
    total = sum(uploaded.size or 0 for uploaded in request.FILES.getlist("files"))
    if total > settings.UPLOAD_MAX_BYTES:
        return UploadForm(), None, too_large_text(total), 413
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, None, "", 422
    upload = read_upload(
        form.cleaned_data["files"],
        owner=request.user,
        allow_duplicates=form.cleaned_data["allow_duplicates"],
    )
    return form, upload, "", 422


@require_http_methods(["GET", "POST"])
@login_required
def batch_job_new(request: HtmxHttpRequest) -> HttpResponse:
    """The "New batch job" page: conversation files imported as one batch job, all or
    nothing, after the same checks as ``import_conversations``."""
    if request.method == "GET":
        return render(request, NEW, {"form": UploadForm(), **_limits()})
    form, upload, problem, status = _read_upload_form(request)
    retry_after = 0
    if upload is not None and not upload.errors and upload.importable:
        data = form.cleaned_data
        try:
            result = import_upload(
                upload,
                owner=request.user,
                batch_name=data["name"].strip() or f"Upload {timezone.now():%Y-%m-%d %H:%M}",
                tier=data["tier"],
                auto_enrich=data["auto_enrich"],
                allow_duplicates=data["allow_duplicates"],
            )
        except DomainError as exc:
            # A refused file (422), or the storage failing (503: try again later).
            problem, status, retry_after = exc.message, exc.status, getattr(exc, "retry_after", 0)
        else:
            messages.success(request, import_summary_text(result))
            return redirect_to(request, reverse("batch-job-detail", args=[result.batch_job.pk]))
    context = {"form": form, "upload": upload, "problem": problem, **_limits()}
    # An import posted with htmx gets the preview saying why (the page keeps the chosen
    # files); without it, the whole page, whose file picker the browser has emptied.
    template = f"{NEW}#preview" if is_partial_request(request) else NEW
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
@login_required
def batch_job_new_preview(request: HtmxHttpRequest) -> HttpResponse:
    """What the chosen files would become (the page asks as soon as files are chosen)."""
    if not is_partial_request(request):
        return redirect("batch-job-new")
    form, upload, problem, _ = _read_upload_form(request)
    context = {"form": form, "upload": upload, "problem": problem}
    return render(request, f"{NEW}#preview", context)


def _limits() -> dict:
    return {
        "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "max_bytes": settings.UPLOAD_MAX_BYTES,
    }


def import_summary_text(result: ConversationImport) -> str:
    summary = result.summary()
    parts = [
        f"Imported {summary['imported']} conversation{pluralize(summary['imported'])} "
        f"into “{result.batch_job.name}”."
    ]
    if summary["unparseable"]:
        parts.append(
            f"{summary['unparseable']} {'is' if summary['unparseable'] == 1 else 'are'} not "
            "valid JSON: kept, and enrichment will report why."
        )
    if result.duplicates:
        count = len(result.duplicates)
        parts.append(f"{count} duplicate file{pluralize(count)} skipped.")
    if result.enrichment_run:
        parts.append("Enrichment runs in the background.")
    return " ".join(parts)
