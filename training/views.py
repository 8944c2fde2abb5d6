"""The training-file pages: the list, one file (build progress, quality, distribution,
downloads, members, add more), choosing conversations for a file (ticked rows or a
filter on the conversations list, a batch job), rebuild, remove, archive and delete."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations.lookups import BatchJobNotFound
from conversations.models import BatchJob
from core.lists import ListSpec, read_list
from core.pages import HtmxHttpRequest, conversations_text, is_partial_request, redirect_to
from core.pagination import EstimatedPaginator
from enrichment.selection import ConversationsNotFound

from . import services
from .files import members_reenriched_since_build
from .forms import AddToForm, Chosen, CreateForm, SelectionForm, StaleFilter
from .models import FileFormat, TrainingFile, TrainingFileStatus, count_members, note_workers

FILES_PER_PAGE = 25
FILE_LIST = ListSpec(
    search_fields=("name", "description"),
    statuses=TrainingFileStatus.choices,
    search_placeholder="Name or description",
)
MEMBERS_PER_PAGE = 50
BATCH_CHOICES = 100
LIST = "training/training_file_list.html"
DETAIL = "training/training_file_detail.html"
NEW = "training/training_file_new.html"


def _visible_file(request: HtmxHttpRequest, pk: uuid.UUID) -> TrainingFile:
    visible = TrainingFile.objects.visible_to(request.user).select_related("created_by")
    return get_object_or_404(visible, pk=pk)


def _done_text(change: services.Change) -> str:
    if change.background:
        return "The files are being built in the background."
    return "The files are built."


def _left_out_text(change: services.Change) -> str:
    """Why conversations chosen were left out: not completed, or (an approved-only
    file) not approved."""
    text = ""
    for count, why in (
        (change.left_out - change.not_approved, "not completed"),
        (change.not_approved, "not approved"),
    ):
        if count:
            verb = "was" if count == 1 else "were"
            text += f" {conversations_text(count)} {verb} {why} and left out."
    return text


@require_GET
@login_required
def training_file_list(request: HtmxHttpRequest) -> HttpResponse:
    listing = read_list(request.GET, FILE_LIST)
    files = listing.apply(
        TrainingFile.objects.visible_to(request.user).select_related("created_by")
    )
    page = EstimatedPaginator(files, FILES_PER_PAGE).get_page(request.GET.get("page"))
    count_members(page.object_list)
    note_workers(page.object_list)
    template = LIST + ("#files" if is_partial_request(request) else "")
    polling = any(item.is_processing for item in page.object_list)
    context = {"page": page, "polling": polling, "listing": listing}
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _distribution(training_file: TrainingFile) -> list[dict]:
    distribution = training_file.scaffolding_distribution or {}
    total = training_file.conversation_count or 1
    groups = []
    for key, label in (
        ("personas", "Personas"),
        ("emotional_arcs", "Emotional arcs"),
        ("training_topics", "Training topics"),
    ):
        counts = sorted((distribution.get(key) or {}).items(), key=lambda item: (-item[1], item[0]))
        rows = [
            {"key": name, "count": count, "percent": round(100 * count / total)}
            for name, count in counts
        ]
        groups.append({"label": label, "rows": rows})
    return groups


def _files(training_file: TrainingFile) -> list[dict]:
    return [
        {"format": value, "label": value.label, "size": training_file.size_for(value)}
        for value in FileFormat
    ]


def _detail_context(request: HtmxHttpRequest, training_file: TrainingFile) -> dict:
    members = (
        training_file.memberships.select_related("conversation", "added_by")
        .only(
            "added_at",
            "added_by__username",
            "conversation__id",
            "conversation__conversation_id",
            "conversation__conversation_name",
            "conversation__enrichment_status",
            "conversation__enriched_at",
        )
        .order_by("id")
    )
    return {
        "training_file": training_file,
        "members": EstimatedPaginator(members, MEMBERS_PER_PAGE, key="id").get_page(
            request.GET.get("page")
        ),
        "reenriched": members_reenriched_since_build(training_file),
        "distribution": _distribution(training_file),
        "files": _files(training_file),
        **_batch_job_choices(request),
        "selection_form": SelectionForm(),
    }


def _batch_job_choices(request: HtmxHttpRequest) -> dict:
    """The "Add more" drop-down: recent jobs with how many of their conversations are
    enriched, the newest that has some chosen (none when none has: adding a job without
    completed conversations adds nothing)."""
    jobs = list(
        BatchJob.objects.visible_to(request.user)
        .order_by("-created_at", "-pk")
        .values_list("pk", "name", "conversations_enriched")[:BATCH_CHOICES]
    )
    chosen = next((pk for pk, _, enriched in jobs if enriched), None)
    return {"batch_jobs": jobs, "chosen_batch_job": chosen}


@require_GET
@login_required
def training_file_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    training_file = _visible_file(request, pk)
    context = _detail_context(request, training_file)
    template = DETAIL + ("#members" if is_partial_request(request) else "")
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def training_file_progress(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The build panel, polled while the file is being built."""
    training_file = _visible_file(request, pk)
    if not is_partial_request(request):
        return redirect("training-file-detail", pk=pk)
    context = {
        "training_file": training_file,
        "files": _files(training_file),
    }
    response = render(request, f"{DETAIL}#build", context)
    if not training_file.is_processing:
        # Counts, quality, downloads and members all changed: load the page again.
        response["HX-Refresh"] = "true"
    return response


# Choosing conversations ---------------------------------------------------------------


def _choose(request: HtmxHttpRequest, data) -> tuple[Chosen | None, list[str]]:
    form = SelectionForm(data)
    if not form.is_valid():
        return None, [error for errors in form.errors.values() for error in errors]
    try:
        return form.choose(user=request.user), []
    except (ConversationsNotFound, BatchJobNotFound):
        raise Http404("No such conversations or batch job.") from None
    except StaleFilter as exc:
        return None, [str(exc)]


def _new_page(
    request: HtmxHttpRequest,
    chosen: Chosen | None,
    errors: list[str],
    *,
    create_form: CreateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "chosen": chosen,
        "errors": errors,
        "create_form": create_form or CreateForm(),
        "add_form": AddToForm(user=request.user),
    }
    template = NEW + ("#selection" if is_partial_request(request) else "")
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def training_file_new(request: HtmxHttpRequest) -> HttpResponse:
    """What the chosen conversations are, with the forms to make a training file of them
    or add them to one. Changes nothing (the conversations list posts ticked rows here)."""
    chosen, errors = _choose(request, request.POST if request.method == "POST" else request.GET)
    return _new_page(request, chosen, errors, status=200 if chosen else 422)


@require_POST
@login_required
def training_file_create(request: HtmxHttpRequest) -> HttpResponse:
    chosen, errors = _choose(request, request.POST)
    create_form = CreateForm(request.POST)
    if chosen is None or not create_form.is_valid():
        return _new_page(request, chosen, errors, create_form=create_form, status=422)
    try:
        change = services.create_training_file(
            name=create_form.cleaned_data["name"],
            description=create_form.cleaned_data["description"],
            user=request.user,
            selection=chosen.selection,
            approved_only=create_form.cleaned_data["approved_only"],
        )
    except services.TrainingFileError as exc:
        return _new_page(request, chosen, [str(exc)], create_form=create_form, status=422)
    messages.success(
        request,
        f"Training file “{change.training_file.name}” created with "
        f"{conversations_text(len(change.added))}. {_done_text(change)}" + _left_out_text(change),
    )
    return redirect_to(request, reverse("training-file-detail", args=[change.training_file.pk]))


def _safe_next(request: HtmxHttpRequest) -> str | None:
    candidate = request.POST.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


@require_POST
@login_required
def training_file_add(request: HtmxHttpRequest) -> HttpResponse:
    add_form = AddToForm(request.POST, user=request.user)
    if not add_form.is_valid():
        raise Http404("No such training file.")
    training_file = add_form.cleaned_data["training_file"]
    chosen, errors = _choose(request, request.POST)
    if chosen is not None:
        try:
            change = services.add_conversations(training_file, chosen.selection, user=request.user)
        except services.TrainingFileError as exc:
            errors = [str(exc)]
    back = _safe_next(request)
    if errors and back is None:
        return _new_page(request, chosen, errors, status=422)
    for error in errors:
        messages.error(request, error)
    if not errors:
        already = len(change.already_included)
        messages.success(
            request,
            f"Added {conversations_text(len(change.added))} to “{training_file.name}”."
            + (f" {already} {'was' if already == 1 else 'were'} already in it." if already else "")
            + (f" {_done_text(change)}" if change.added else "")
            + _left_out_text(change),
        )
    return redirect_to(request, back or reverse("training-file-detail", args=[training_file.pk]))


# Lifecycle ------------------------------------------------------------------------------


def _after(request: HtmxHttpRequest, training_file: TrainingFile) -> HttpResponse:
    return redirect_to(request, reverse("training-file-detail", args=[training_file.pk]))


@require_POST
@login_required
def training_file_rebuild(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    training_file = _visible_file(request, pk)
    try:
        change = services.rebuild_training_file(training_file)
    except services.TrainingFileError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Rebuilding “{training_file.name}”. {_done_text(change)}")
    return _after(request, training_file)


@require_POST
@login_required
def training_file_remove(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    training_file = _visible_file(request, pk)
    form = SelectionForm(request.POST)
    ids = form.cleaned_data.get("ids") if form.is_valid() else None
    if not ids:
        messages.error(request, "Tick the conversations to remove.")
        return _after(request, training_file)
    try:
        change = services.remove_conversations(training_file, ids)
    except services.TrainingFileError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Removed {conversations_text(len(change.removed))} from “{training_file.name}”. "
            + (_done_text(change) if change.removed else ""),
        )
    return _after(request, training_file)


@require_POST
@login_required
def training_file_archive(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    training_file = _visible_file(request, pk)
    undo = request.POST.get("undo") == "1"
    action = services.unarchive_training_file if undo else services.archive_training_file
    try:
        action(training_file)
    except services.TrainingFileError as exc:
        messages.error(request, str(exc))
    else:
        verb = "unarchived" if undo else "archived"
        messages.success(request, f"Training file “{training_file.name}” {verb}.")
    return _after(request, training_file)


@require_http_methods(["GET", "POST"])
@login_required
def training_file_delete(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    training_file = _visible_file(request, pk)
    if request.method == "GET":
        return render(
            request, "training/training_file_delete.html", {"training_file": training_file}
        )
    services.delete_training_file(training_file)
    messages.success(request, f"Training file “{training_file.name}” deleted, with its files.")
    return redirect_to(request, reverse("training-file-list"))
