"""Repairing a conversation on its pages: the edit page (name, metadata, each turn) and
the replacement of its file (an upload, or pasted text), each saved as a new revision and
enriched again in the background; and the panel of its revisions on its page, polled
while the latest one is being validated and enriched."""

import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations.lookups import find_batch_job
from conversations.models import Conversation, RevisionSource
from core import storage
from core.errors import DomainError
from core.pages import HtmxHttpRequest, is_partial_request, redirect_to

from ..models import RunSource
from ..replacements import replace_failed
from ..revisions import document_from_bytes, save_revision
from .conversation_detail import visible_conversation
from .repair import (
    ConversationEditForm,
    TurnFormSet,
    edited_document,
    initial_metadata,
    initial_turns,
    problems_of,
    rearranged_turns,
    repair_context,
    source_index,
)

EDIT = "enrichment/conversation_edit.html"
PANEL = "includes/revisions.html"
# The largest file the replace form takes (the API and intake take more, in other ways).
MAX_REPLACEMENT_BYTES = 16 * 1024 * 1024
# The largest file whose text the replace form offers to correct (far above any reply).
MAX_EDITED_TEXT_BYTES = 1024 * 1024


def current_document(conversation: Conversation) -> tuple[dict | None, str | None]:
    """The document enrichment reads now (``None`` when it is not a JSON object), and its
    whole text, to correct in the replace form (``None`` when it is too large for the
    form: a part of it, corrected and saved, would become a shorter document)."""
    path = conversation.file_path or conversation.raw_response_path
    if not path:
        return None, ""
    try:
        content = storage.read_file(path)
    except OSError:
        return None, ""
    text = None
    if len(content) <= MAX_EDITED_TEXT_BYTES:
        text = content.decode("utf-8", errors="replace")
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, text
    return (document if isinstance(document, dict) else None), text


def _page(conversation: Conversation) -> str:
    return reverse("conversation-detail", args=[conversation.pk])


def _saved_message(request, conversation: Conversation, number: int) -> None:
    conversation.refresh_from_db(fields=["conversation_name"])  # renamed by the edit
    messages.success(
        request,
        f"Revision {number} of “{conversation.display_name}” is saved; it is being "
        "validated and enriched in the background.",
    )


@require_http_methods(["GET", "POST"])
@login_required
def conversation_edit(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    conversation = visible_conversation(request, pk)
    document, text = current_document(conversation)
    changing = "add_after" in request.POST or "remove" in request.POST
    if request.method == "POST" and document is not None and changing:
        # A turn added or removed: the form again with the change, as typed, not saved.
        form = ConversationEditForm(
            initial={name: request.POST.get(name, "") for name in ConversationEditForm.base_fields}
        )
        rearranged = rearranged_turns(
            request.POST,
            "turn",
            add_after=request.POST.get("add_after"),
            remove=request.POST.get("remove"),
        )
        turns = TurnFormSet(initial=rearranged, prefix="turn")
    elif request.method == "POST" and document is not None:
        form = ConversationEditForm(request.POST)
        turns = TurnFormSet(request.POST, prefix="turn")
        if form.is_valid() and turns.is_valid():
            edited = edited_document(document, form.cleaned_data, turns.cleaned_data)
            try:
                saved = save_revision(
                    conversation,
                    edited,
                    user=request.user,
                    source=RevisionSource.EDIT,
                    run_source=RunSource.PAGE,
                    name=form.cleaned_data["name"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                _saved_message(request, conversation, saved.revision.number)
                return redirect_to(request, _page(conversation))
    elif document is not None:
        form = ConversationEditForm(
            initial=initial_metadata(document, conversation.conversation_name)
        )
        turns = TurnFormSet(initial=initial_turns(document), prefix="turn")
    else:
        form = turns = None
    problems = problems_of(conversation.validation_report)
    rows = []
    for index, turn_form in enumerate(turns.forms if turns else []):
        source = source_index(turn_form["source"].value(), index)
        rows.append((turn_form, problems.turns.get(source, []) if source is not None else []))
    context = {
        "conversation": conversation,
        "form": form,
        "turns": turns,
        "turn_rows": rows,
        "problems": problems,
        "text": text,
        "max_edited_text_bytes": MAX_EDITED_TEXT_BYTES,
        "may_replace": conversation.needs_retry,
    }
    failed = request.method == "POST" and not changing
    return render(request, EDIT, context, status=400 if failed else 200)


@require_POST
@login_required
def conversation_replace(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """A failed conversation's file replaced by an uploaded one, or by pasted text."""
    conversation = visible_conversation(request, pk)
    upload = request.FILES.get("file")
    if upload is not None and upload.size > MAX_REPLACEMENT_BYTES:
        messages.error(
            request, f"The file is over {MAX_REPLACEMENT_BYTES:,} bytes; nothing was saved."
        )
        return redirect(reverse("conversation-edit", args=[pk]))
    content = upload.read() if upload is not None else request.POST.get("text", "").encode()
    try:
        document = document_from_bytes(content)
        saved = save_revision(
            conversation,
            document,
            user=request.user,
            source=RevisionSource.REPLACE,
            run_source=RunSource.PAGE,
            content=content,
        )
    except DomainError as error:
        messages.error(request, f"{error.message} Nothing was saved.")
        return redirect_to(request, reverse("conversation-edit", args=[pk]))
    _saved_message(request, conversation, saved.revision.number)
    return redirect_to(request, _page(conversation))


@require_GET
@login_required
def revisions_panel(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The revisions panel, polled while the latest revision is being enriched; once it
    is done, the whole page loads again (status, report, training pairs all changed)."""
    conversation = visible_conversation(request, pk)
    if not is_partial_request(request):
        return redirect(_page(conversation))
    context = {"conversation": conversation, **repair_context(conversation)}
    response = render(request, PANEL, context)
    if not context["being_enriched"]:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@login_required
def batch_job_replace(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Replace and retry: corrected files of the job's failed conversations, each named
    by its conversation's id; then back to the job's page, which says what was done."""
    job = find_batch_job(pk, user=request.user)
    page = reverse("batch-job-detail", args=[job.pk])
    uploads = request.FILES.getlist("files")
    too_big = [u.name for u in uploads if u.size > MAX_REPLACEMENT_BYTES]
    if too_big:
        messages.error(
            request,
            f"Over {MAX_REPLACEMENT_BYTES:,} bytes: {', '.join(too_big)}. Nothing was saved.",
        )
        return redirect(page)
    try:
        done = replace_failed(
            job,
            [(upload.name, upload.read()) for upload in uploads],
            user=request.user,
            run_source=RunSource.PAGE,
        )
    except DomainError as error:
        messages.error(request, f"{error.message} Nothing was saved.")
        return redirect(page)
    if done.replaced:
        count = len(done.replaced)
        messages.success(
            request,
            f"{count} file{pluralize(count)} replaced (as new revisions); being validated "
            "and enriched again in the background.",
        )
    if done.refused:
        named = "; ".join(f"{name}: {why}" for name, why in done.refused)
        messages.error(request, f"Not replaced: {named}")
    return redirect(page)
