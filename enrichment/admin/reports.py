"""What the admin's enrichment actions do and tell the operator: each action hands a
selection to the front door (``services.enrich``) and turns the answer into one message."""

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, RunSource, RunStatus
from enrichment.pipeline.outcomes import (
    ALREADY_ENRICHED,
    IN_PROGRESS,
    INACTIVE,
    PREVIOUSLY_FAILED,
)
from enrichment.runs.lifecycle import (
    NothingToEnrich,
    RunNotCancellable,
    RunStarted,
    cancel_run,
    retry_failed,
)
from enrichment.selection import Selection
from enrichment.services import BulkResult, enrich, fits_in_request

# Failures named in a message (the rest are a link away), and new runs linked one by one.
NAMED_FAILURES = 3
NAMED_RUNS = 10

SKIP_LABELS = {
    ALREADY_ENRICHED: "already enriched",
    IN_PROGRESS: "in progress elsewhere",
    PREVIOUSLY_FAILED: "failed before",
    INACTIVE: "deactivated",
}


@dataclass(frozen=True)
class AdminReport:
    """What an admin action tells the operator."""

    message: str
    level: int


def _conversations(count: int) -> str:
    return f"{count} conversation{pluralize(count)}"


def run_page_url(run: EnrichmentRun) -> str:
    return reverse("run-detail", args=[run.pk])


def run_admin_url(run: EnrichmentRun) -> str:
    return reverse("admin:enrichment_enrichmentrun_change", args=[run.pk])


def _left_out_note(left_out: int, reason: str) -> str:
    if not left_out:
        return ""
    verb = "was" if left_out == 1 else "were"
    return f"{left_out} selected conversation{pluralize(left_out)} {verb} {reason} and left alone."


def failed_list_url(pks) -> str:
    """The conversations change list narrowed to exactly these rows."""
    ids = ",".join(str(pk) for pk in pks)
    return f"{reverse('admin:conversations_conversation_changelist')}?id__in={ids}"


def _failures_summary(failures: list) -> SafeString:
    """A few failures by name with their error, then a link to all of them in the list (a
    message naming a hundred errors is a wall nobody reads)."""
    shown = failures[:NAMED_FAILURES]
    names = dict(
        Conversation.objects.filter(pk__in=[f.pk for f in shown]).values_list(
            "pk", "conversation_name"
        )
    )
    named = "; ".join(
        f"“{names.get(f.pk) or 'Untitled'}”: "
        f"{Truncator(f.error or f.enrichment_status).chars(120).rstrip('.')}"
        for f in shown
    )
    more = len(failures) - len(shown)
    return format_html(
        'Failed: {}{}. <a href="{}">See {} in the list</a>.',
        named,
        f"; and {more} more" if more else "",
        failed_list_url(f.pk for f in failures),
        "it" if len(failures) == 1 else f"all {len(failures)}",
    )


def result_report(result: BulkResult, *, left_out: int = 0, reason: str = "") -> AdminReport:
    """Numbers first (enriched / failed / skipped), then skip reasons, then the failures:
    a few by name, and a link to all of them."""
    summary = result.summary
    parts = [
        f"Enrichment of {_conversations(summary['total'])}: {summary['successful']} enriched, "
        f"{summary['failed']} failed, {summary['skipped']} skipped."
    ]
    if summary["skipped"]:
        reasons = Counter(o.reason for o in result.outcomes if o.reason)
        shown = [ALREADY_ENRICHED, IN_PROGRESS] + [
            reason for reason in (PREVIOUSLY_FAILED, INACTIVE) if reasons[reason]
        ]
        parts.append("Skipped: " + ", ".join(f"{reasons[r]} {SKIP_LABELS[r]}" for r in shown) + ".")
    failures = result.failures
    if failures:
        parts.append(_failures_summary(failures))
    if note := _left_out_note(left_out, reason):
        parts.append(note)
    message = format_html_join(" ", "{}", ((part,) for part in parts))
    return AdminReport(message, messages.WARNING if failures else messages.SUCCESS)


def run_report(
    started: RunStarted, *, completed: int = 0, left_out: int = 0, reason: str = ""
) -> AdminReport:
    """The run queued instead of enriching in the request (or the one already going over
    the same scope), with links to follow it."""
    run = started.run
    if not started.created:
        queued = f"“{run}” is already running over these conversations; nothing new was queued"
    elif run.force:
        queued = f"Queued a forced background run over {_conversations(run.total)}"
        queued += " (completed ones are re-enriched)"
    else:
        queued = f"Queued a background run over {_conversations(run.total)}"
        if completed:
            verb = "is" if completed == 1 else "are"
            queued += f" ({completed} of them {verb} already enriched and will be skipped)"
    message = format_html(
        '{}. Follow its progress on <a href="{}">the run’s page</a> or '
        '<a href="{}">in the admin</a>.',
        queued,
        run_page_url(run),
        run_admin_url(run),
    )
    if note := _left_out_note(left_out, reason):
        message = format_html("{} {}", message, note)
    return AdminReport(message, messages.SUCCESS if started.created else messages.WARNING)


def enrich_for_admin(
    selection: Selection,
    *,
    user,
    force: bool = False,
    selected: int | None = None,
    reason: str = "",
) -> AdminReport:
    """Enrich ``selection`` through the front door and report the outcome.

    Up to ``ENRICHMENT_BULK_LIMIT`` are enriched in the request, so the operator reads the
    outcome right away; more (an admin "select all") become a background run.
    ``selected`` is how many rows the operator picked; the difference is reported as
    left alone for ``reason``.
    """
    try:
        result = enrich(selection, user=user, source=RunSource.ADMIN, force=force)
    except NothingToEnrich:
        result = BulkResult([])
    if isinstance(result, RunStarted):
        run = result.run
        left_out = 0 if selected is None or not result.created else selected - run.total
        completed = 0
        if result.created and not force:
            # The runner skips completed rows unless forced; the message says how many.
            completed = run.items.filter(
                conversation__enrichment_status=EnrichmentStatus.COMPLETED
            ).count()
        return run_report(result, completed=completed, left_out=left_out, reason=reason)
    left_out = 0 if selected is None else selected - len(result.outcomes)
    if not result.outcomes:
        note = _left_out_note(left_out, reason)
        return AdminReport(f"Nothing to enrich. {note}".strip(), messages.WARNING)
    return result_report(result, left_out=left_out, reason=reason)


def force_preview(conversations: QuerySet[Conversation]) -> dict:
    """What the forced re-enrich confirmation shows: how many are selected, how many
    completed ones are overwritten, how many are being enriched right now (and skipped),
    and up to ``ENRICHMENT_BULK_LIMIT`` of the rows."""
    limit = settings.ENRICHMENT_BULK_LIMIT
    rows = list(conversations.order_by("-created_at", "-pk")[: limit + 1])
    if fits_in_request(len(rows)):
        # Every row is loaded anyway: count them here rather than in another query.
        return {
            "conversations": rows,
            "total": len(rows),
            "completed": sum(row.is_completed for row in rows),
            "in_progress": sum(row.lease_is_live() for row in rows),
            "queued": False,
        }
    counts = conversations.order_by().aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(enrichment_status=EnrichmentStatus.COMPLETED)),
        in_progress=Count(
            "pk",
            filter=Q(
                enrichment_status=EnrichmentStatus.IN_PROGRESS,
                enrichment_lease_expires_at__gt=timezone.now(),
            ),
        ),
    )
    return {**counts, "conversations": rows[:limit], "queued": True}


def cancel_runs_for_admin(selected: QuerySet[EnrichmentRun]) -> AdminReport:
    """Cancel the unfinished runs of ``selected``; finished ones are counted, not touched."""
    finished = selected.filter(status__in=RunStatus.finished()).count()
    cancelled = 0
    for run in selected.unfinished():
        try:
            cancel_run(run)
        except RunNotCancellable:  # it finished since the page was shown
            finished += 1
        else:
            cancelled += 1
    parts = [
        f"Cancelled {cancelled} run{pluralize(cancelled)}." if cancelled else "Nothing to cancel."
    ]
    if finished:
        verb = "was" if finished == 1 else "were"
        parts.append(f"{finished} selected run{pluralize(finished)} {verb} already finished.")
    return AdminReport(" ".join(parts), messages.SUCCESS if cancelled else messages.WARNING)


def retry_runs_for_admin(selected: QuerySet[EnrichmentRun], *, user) -> AdminReport:
    """A new background run per selected run, over the conversations that failed in it."""
    started: list[EnrichmentRun] = []
    without_failures = 0
    for run in selected.order_by("created_at", "pk"):
        try:
            started.append(retry_failed(run, user=user, source=RunSource.ADMIN).run)
        except NothingToEnrich:
            without_failures += 1
    if not started:
        return AdminReport(
            f"Nothing to retry: {without_failures} selected run{pluralize(without_failures)} "
            "had no failed conversations.",
            messages.WARNING,
        )
    failed = sum(run.total for run in started)
    links = format_html_join(
        "; ",
        '<a href="{}">{}</a> (<a href="{}">in the admin</a>)',
        ((run_page_url(run), run, run_admin_url(run)) for run in started[:NAMED_RUNS]),
    )
    more = len(started) - NAMED_RUNS
    message = format_html(
        "Queued {} retry run{} over {} failed conversation{}: {}{}.",
        len(started),
        pluralize(len(started)),
        failed,
        pluralize(failed),
        links,
        f"; and {more} more" if more > 0 else "",
    )
    if without_failures:
        message = format_html(
            "{} {} selected run{} had no failed conversations to retry.",
            message,
            without_failures,
            pluralize(without_failures),
        )
    return AdminReport(message, messages.SUCCESS)
