"""The admin: browse everything, and enrich selections through ``bulk_enrich`` (or, above
``ENRICHMENT_BULK_LIMIT``, a background run); follow, cancel and retry runs.

The enrichment app never imports ``batches``; the batch-job column and filter reach batch
items through the reverse relation and ``apps.get_model``.
"""

import json
import uuid
from collections import Counter
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, UUIDField
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from . import runs
from .models import (
    Conversation,
    EmotionalArc,
    EnrichmentRun,
    EnrichmentStatus,
    ErrorCategory,
    ItemOutcome,
    Persona,
    PromptTemplate,
    RunSource,
    RunStatus,
    TrainingTopic,
)
from .pipeline.run import ALREADY_ENRICHED, IN_PROGRESS, INACTIVE, PREVIOUSLY_FAILED
from .services import BulkResult, bulk_enrich

ENRICH_PERMISSION = "enrichment.enrich_conversation"
# Failures (and new runs) named one by one in a message; the rest are counted.
NAMED_FAILURES = 10
# Failed items listed on a run's admin page; the rest are counted.
FAILED_ITEMS_SHOWN = 100

_BADGE_COLOURS = {
    "green": ("#e6f4ea", "#1e6b34"),
    "red": ("#fdecea", "#a12622"),
    "blue": ("#e8f0fe", "#1a4d9c"),
    "amber": ("#fff4e0", "#8a5300"),
    "grey": ("#eeeeee", "#444444"),
}
_STATUS_TONES = {
    EnrichmentStatus.COMPLETED: "green",
    EnrichmentStatus.VALIDATION_FAILED: "red",
    EnrichmentStatus.NORMALIZATION_FAILED: "red",
    EnrichmentStatus.ENRICHMENT_FAILED: "red",
    EnrichmentStatus.IN_PROGRESS: "blue",
    EnrichmentStatus.VALIDATED: "amber",
    EnrichmentStatus.ENRICHED: "amber",
}


def badge(label: str, tone: str, *, value: str = "") -> SafeString:
    background, colour = _BADGE_COLOURS.get(tone, _BADGE_COLOURS["grey"])
    return format_html(
        '<span class="status-badge status-badge--{}" style="background:{};color:{};'
        'padding:2px 8px;border-radius:10px;white-space:nowrap;font-weight:600">{}</span>',
        value,
        background,
        colour,
        label,
    )


def enrichment_status_badge(status: str) -> SafeString:
    label = EnrichmentStatus(status).label if status in EnrichmentStatus.values else status
    return badge(label, _STATUS_TONES.get(status, "grey"), value=status)


def error_category_label(category: str | None) -> str:
    if not category:
        return "Uncategorised"
    return ErrorCategory(category).label if category in ErrorCategory.values else category


# Enrichment from the admin ---------------------------------------------------------------


@dataclass(frozen=True)
class AdminReport:
    """What an admin action tells the operator."""

    message: str
    level: int


def _conversations(count: int) -> str:
    return f"{count} conversation{pluralize(count)}"


def run_page_url(run: EnrichmentRun) -> str:
    return f"/runs/{run.pk}/"


def run_admin_url(run: EnrichmentRun) -> str:
    return reverse("admin:enrichment_enrichmentrun_change", args=[run.pk])


def _left_out_note(left_out: int, reason: str) -> str:
    if not left_out:
        return ""
    verb = "was" if left_out == 1 else "were"
    return f"{left_out} selected conversation{pluralize(left_out)} {verb} {reason} and left alone."


SKIP_LABELS = {
    ALREADY_ENRICHED: "already enriched",
    IN_PROGRESS: "in progress elsewhere",
    PREVIOUSLY_FAILED: "failed before",
    INACTIVE: "deactivated",
}


def result_report(result: BulkResult, *, left_out: int = 0, reason: str = "") -> AdminReport:
    """Numbers first (enriched / failed / skipped), then skip reasons, then failures by name."""
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
        names = dict(
            Conversation.objects.filter(
                pk__in=[f.pk for f in failures[:NAMED_FAILURES]]
            ).values_list("pk", "conversation_name")
        )
        named = [
            f"“{names.get(f.pk) or 'Untitled'}” ({f.conversation_id}): "
            f"{Truncator(f.error or f.enrichment_status).chars(160).rstrip('.')}"
            for f in failures[:NAMED_FAILURES]
        ]
        more = len(failures) - len(named)
        parts.append("Failed: " + "; ".join(named) + (f"; and {more} more." if more else "."))
    if note := _left_out_note(left_out, reason):
        parts.append(note)
    return AdminReport(" ".join(parts), messages.WARNING if failures else messages.SUCCESS)


def run_report(
    run: EnrichmentRun, *, completed: int = 0, left_out: int = 0, reason: str = ""
) -> AdminReport:
    """The run queued instead of enriching in the request, with links to follow it."""
    if run.force:
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
    return AdminReport(message, messages.SUCCESS)


def enrich_for_admin(
    conversations: QuerySet[Conversation],
    *,
    user,
    description: str,
    force: bool = False,
    batch_job_id: uuid.UUID | None = None,
    selected: int | None = None,
    reason: str = "",
) -> AdminReport:
    """Enrich ``conversations`` in the request through ``bulk_enrich``, or queue a run.

    Up to ``ENRICHMENT_BULK_LIMIT`` are enriched in the request, so the operator reads the
    outcome right away. More (an admin "select all") become a background run named
    ``description``: a long loop in the request would hit time limits. Only the row ids
    are loaded. ``selected`` is how many rows the operator picked; the difference is
    reported as left alone for ``reason``.
    """
    pks = list(conversations.order_by("created_at", "pk").values_list("pk", flat=True))
    left_out = 0 if selected is None else selected - len(pks)
    if not pks:
        note = _left_out_note(left_out, reason)
        return AdminReport(f"Nothing to enrich. {note}".strip(), messages.WARNING)
    if len(pks) <= settings.ENRICHMENT_BULK_LIMIT:
        result = bulk_enrich(pks, user=user, force=force)
        return result_report(result, left_out=left_out, reason=reason)
    # The runner skips completed rows unless forced; the message says how many.
    completed = (
        0 if force else conversations.filter(enrichment_status=EnrichmentStatus.COMPLETED).count()
    )
    run = runs.start_run(
        pks,
        user=user,
        source=RunSource.ADMIN,
        description=description,
        force=force,
        batch_job_id=batch_job_id,
    )
    return run_report(run, completed=completed, left_out=left_out, reason=reason)


def force_preview(conversations: QuerySet[Conversation]) -> dict:
    """What the forced re-enrich confirmation shows: how many are selected, how many
    completed ones are overwritten, how many are being enriched right now (and skipped),
    and up to ``ENRICHMENT_BULK_LIMIT`` of the rows."""
    limit = settings.ENRICHMENT_BULK_LIMIT
    rows = list(conversations.order_by("-created_at", "-pk")[: limit + 1])
    if len(rows) <= limit:
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


# Conversations ----------------------------------------------------------------------------


class BatchJobFilter(admin.SimpleListFilter):
    title = "batch job"
    parameter_name = "batch_job"
    # The sidebar lists recent jobs; any job id still works in the URL (links from a job).
    shown = 30

    def lookups(self, request, model_admin):
        BatchJob = apps.get_model("batches", "BatchJob")
        jobs = BatchJob.objects.order_by("-created_at").values_list("pk", "name")[: self.shown]
        return [(str(pk), name) for pk, name in jobs]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            job_id = uuid.UUID(self.value())
        except ValueError:
            return queryset.none()
        BatchItem = apps.get_model("batches", "BatchItem")
        return queryset.filter(
            pk__in=BatchItem.objects.filter(batch_job_id=job_id).values("conversation_id")
        )


def _first_batch_item():
    BatchItem = apps.get_model("batches", "BatchItem")
    return BatchItem.objects.filter(conversation=OuterRef("pk")).order_by("created_at", "pk")


def _report_issues(rows: list[tuple[str, dict]]) -> SafeString:
    return format_html(
        '<table class="report-issues"><thead><tr><th>Severity</th><th>Code</th>'
        "<th>Field</th><th>Message</th><th>Suggestion</th></tr></thead><tbody>{}</tbody>"
        "</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    severity,
                    issue.get("code", ""),
                    issue.get("field", ""),
                    issue.get("message", ""),
                    issue.get("suggestion", ""),
                )
                for severity, issue in rows
            ),
        ),
    )


def _issues(report: dict, *keys: str) -> list[tuple[str, dict]]:
    severities = {"blockers": "blocker", "warnings": "warning", "errors": "error"}
    return [
        (severities[key], issue)
        for key in keys
        for issue in report.get(key) or []
        if isinstance(issue, dict)
    ]


def _raw_json(value) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "conversation_id",
        "conversation_name",
        "created_by",
        "batch_job",
        "tier",
        "status_badge",
        "turn_count",
        "created_at",
    ]
    list_display_links = ["conversation_id", "conversation_name"]
    list_filter = [
        "enrichment_status",
        "tier",
        BatchJobFilter,
        "persona",
        "enrichment_error_category",
        "is_active",
    ]
    list_select_related = ["created_by"]
    # Exact lookups on the ids: terms that are not UUIDs skip them, and the indexes are used.
    search_fields = ["conversation_id__exact", "id__exact", "conversation_name"]
    search_help_text = "A conversation id (either form) or words of the name."
    list_per_page = 50
    autocomplete_fields = ["created_by", "persona", "emotional_arc", "training_topic", "template"]
    actions = ["enrich_selected", "retry_failed", "force_reenrich"]
    readonly_fields = [
        "conversation_id",
        "id",
        "batch_job",
        "turn_count",
        "downloads",
        "raw_response_path",
        "raw_response_size",
        "file_path",
        "file_size",
        "enriched_file_path",
        "enriched_file_size",
        "processing_status",
        "status_badge",
        "error_display",
        "validation_report_display",
        "normalization_report_display",
        "enriched_at",
        "enrichment_version",
        "enrichment_lease_expires_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "conversation_id",
                    "id",
                    "conversation_name",
                    "created_by",
                    "is_active",
                    "batch_job",
                    "tier",
                    "quality_score",
                    "turn_count",
                ]
            },
        ),
        ("Scaffolding", {"fields": ["persona", "emotional_arc", "training_topic", "template"]}),
        (
            "Files",
            {
                "fields": [
                    "downloads",
                    "processing_status",
                    ("raw_response_path", "raw_response_size"),
                    ("file_path", "file_size"),
                    ("enriched_file_path", "enriched_file_size"),
                ]
            },
        ),
        (
            "Enrichment",
            {
                "fields": [
                    "status_badge",
                    "error_display",
                    "validation_report_display",
                    "normalization_report_display",
                    "enriched_at",
                    "enrichment_version",
                    "enrichment_lease_expires_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        # Subqueries rather than a join, so the list stays one query and one row per
        # conversation (a conversation could sit in several jobs; the first one is shown).
        # The reports can be tens of KB each and only the detail page shows them.
        return (
            super()
            .get_queryset(request)
            .defer("validation_report", "normalization_report")
            .annotate(
                batch_job_pk=Subquery(
                    _first_batch_item().values("batch_job_id")[:1], output_field=UUIDField()
                ),
                batch_job_name=Subquery(_first_batch_item().values("batch_job__name")[:1]),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations come from generation and imports, each with its stored file.
        return False

    def has_enrich_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENRICH_PERMISSION)

    # Columns and read-only fields ---------------------------------------------------------

    @admin.display(description="Batch job", ordering="batch_job_name")
    def batch_job(self, obj: Conversation) -> str:
        if not getattr(obj, "batch_job_pk", None):
            return "-"
        url = reverse("admin:batches_batchjob_change", args=[obj.batch_job_pk])
        return format_html('<a href="{}">{}</a>', url, obj.batch_job_name)

    @admin.display(description="Enrichment status", ordering="enrichment_status")
    def status_badge(self, obj: Conversation) -> SafeString:
        return enrichment_status_badge(obj.enrichment_status)

    @admin.display(description="Download")
    def downloads(self, obj: Conversation) -> str:
        base = f"/api/conversations/{obj.conversation_id}/download"
        links = []
        if obj.raw_response_path or obj.file_path:
            links.append(format_html('<a href="{}/raw">Raw file</a>', base))
        if obj.is_completed and obj.enriched_file_path:
            links.append(format_html('<a href="{}/enriched">Enriched file</a>', base))
        return format_html_join(" · ", "{}", ((link,) for link in links)) or "No stored files"

    @admin.display(description="Enrichment error")
    def error_display(self, obj: Conversation) -> str:
        if not obj.enrichment_error:
            return "-"
        return format_html(
            '<p><strong>{}</strong></p><p style="white-space:pre-wrap">{}</p>',
            error_category_label(obj.enrichment_error_category),
            obj.enrichment_error,
        )

    @admin.display(description="Validation report")
    def validation_report_display(self, obj: Conversation) -> str:
        report = obj.validation_report
        if not report:
            return "Not validated yet."
        if not isinstance(report, dict):
            return _raw_json(report)
        issues = _issues(report, "blockers", "warnings")
        return format_html(
            "<p><strong>{}</strong> (validated {})</p>{}",
            report.get("summary") or ("Valid" if report.get("isValid") else "Invalid"),
            report.get("validatedAt") or "at an unknown time",
            _report_issues(issues) if issues else "",
        )

    @admin.display(description="Normalization report")
    def normalization_report_display(self, obj: Conversation) -> str:
        report = obj.normalization_report
        if not report:
            return "Not normalized yet."
        if not isinstance(report, dict):
            return _raw_json(report)
        fixes = report.get("fixes") or {}
        issues = _issues(report, "errors", "warnings")
        return format_html(
            "<p>Fixes: {} control characters removed, {} strings put in Unicode NFC. "
            "Size: {} bytes.</p>{}",
            fixes.get("control_characters_removed", 0),
            fixes.get("strings_nfc_normalized", 0),
            report.get("size_bytes", "unknown"),
            _report_issues(issues) if issues else "",
        )

    # Actions --------------------------------------------------------------------------------

    @admin.action(description="Enrich selected conversations", permissions=["enrich"])
    def enrich_selected(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        report = enrich_for_admin(
            queryset.filter(is_active=True),
            user=request.user,
            description="Enrich selected conversations",
            selected=queryset.count(),
            reason="inactive",
        )
        self.message_user(request, report.message, report.level)

    @admin.action(description="Retry failed enrichments", permissions=["enrich"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        report = enrich_for_admin(
            queryset.failed().filter(is_active=True),
            user=request.user,
            description="Retry failed enrichments",
            selected=queryset.count(),
            reason="not in a failed state (or inactive)",
        )
        self.message_user(request, report.message, report.level)

    @admin.action(description="Re-enrich (force)", permissions=["enrich"])
    def force_reenrich(self, request: HttpRequest, queryset: QuerySet[Conversation]):
        if request.POST.get("post") != "yes":
            return self.force_reenrich_confirmation(request, queryset.filter(is_active=True))
        report = enrich_for_admin(
            queryset.filter(is_active=True),
            user=request.user,
            description="Re-enrich (force)",
            force=True,
        )
        self.message_user(request, report.message, report.level)

    def force_reenrich_confirmation(
        self, request: HttpRequest, conversations: QuerySet[Conversation]
    ) -> TemplateResponse:
        """The page that says how many completed conversations a forced run overwrites."""
        preview = force_preview(conversations)
        if preview["queued"]:
            # Too many rows to post back one by one: post back the selection itself (the
            # ticked rows, "select all" and the change list's filters in the URL).
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            select_across = request.POST.get("select_across") == "1"
        else:
            selected = [row.pk for row in preview["conversations"]]
            select_across = False
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            **preview,
            "title": "Re-enrich conversations (force)?",
            "opts": self.model._meta,
            "more": preview["total"] - len(preview["conversations"]),
            "limit": settings.ENRICHMENT_BULK_LIMIT,
            "selected": selected,
            "select_across": select_across,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": "force_reenrich",
            "media": self.media,
        }
        return TemplateResponse(
            request, "admin/enrichment/conversation/force_reenrich_confirmation.html", context
        )


# Background runs --------------------------------------------------------------------------

_RUN_TONES = {
    RunStatus.QUEUED: "amber",
    RunStatus.RUNNING: "blue",
    RunStatus.COMPLETED: "green",
    RunStatus.CANCELLED: "grey",
    RunStatus.FAILED: "red",
}


def run_status_badge(run: EnrichmentRun) -> SafeString:
    return badge(run.get_status_display(), _RUN_TONES.get(run.status, "grey"), value=run.status)


def cancel_runs_for_admin(selected: QuerySet[EnrichmentRun]) -> AdminReport:
    """Cancel the unfinished runs of ``selected``; finished ones are counted, not touched."""
    finished = selected.filter(status__in=RunStatus.finished()).count()
    cancelled = 0
    for run in selected.unfinished():
        try:
            runs.cancel_run(run)
        except runs.RunNotCancellable:  # it finished since the page was shown
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
            started.append(runs.retry_failed(run, user=user, source=RunSource.ADMIN))
        except runs.NothingToEnrich:
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
        ((run_page_url(run), run, run_admin_url(run)) for run in started[:NAMED_FAILURES]),
    )
    more = len(started) - NAMED_FAILURES
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


def _conversation_change_link(conversation: Conversation) -> SafeString:
    url = reverse("admin:enrichment_conversation_change", args=[conversation.pk])
    return format_html('<a href="{}">{}</a>', url, conversation)


@admin.register(EnrichmentRun)
class EnrichmentRunAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "name",
        "source",
        "status_badge",
        "created_by",
        "total",
        "enriched",
        "failed",
        "skipped",
        "progress",
        "finished_at",
    ]
    list_display_links = ["created_at", "name"]
    list_filter = ["status", "source"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    search_fields = ["id__exact", "description"]
    search_help_text = "A run id or words of the description."
    actions = ["cancel_runs", "retry_failed_runs"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "name",
                    "progress_page",
                    "source",
                    "status_badge",
                    "created_by",
                    "batch_job",
                    "force",
                    "retry_of_link",
                ]
            },
        ),
        (
            "Progress",
            {
                "fields": [
                    ("total", "enriched", "failed", "skipped"),
                    "progress_summary",
                    "eta",
                    "error",
                ]
            },
        ),
        (
            "Times",
            {"fields": ["created_at", "started_at", "heartbeat_at", "finished_at", "updated_at"]},
        ),
        ("Failed conversations", {"fields": ["failed_items"]}),
    ]
    readonly_fields = [
        "id",
        "name",
        "progress_page",
        "source",
        "status_badge",
        "created_by",
        "batch_job",
        "force",
        "retry_of_link",
        "total",
        "enriched",
        "failed",
        "skipped",
        "progress_summary",
        "eta",
        "error",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "updated_at",
        "failed_items",
    ]

    def view_on_site(self, obj: EnrichmentRun) -> str:
        return run_page_url(obj)

    # Runs are started by the enrichment actions and services, and written by the workers.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # A run is the record of what happened to its conversations.
    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_enrich_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENRICH_PERMISSION)

    # Columns and read-only fields ---------------------------------------------------------

    @admin.display(description="Description", ordering="description")
    def name(self, obj: EnrichmentRun) -> str:
        return str(obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: EnrichmentRun) -> SafeString:
        return run_status_badge(obj)

    @admin.display(description="Progress")
    def progress(self, obj: EnrichmentRun) -> str:
        return f"{obj.progress_percent}%"

    @admin.display(description="Progress")
    def progress_summary(self, obj: EnrichmentRun) -> str:
        return (
            f"{obj.processed} of {obj.total} processed ({obj.progress_percent}%), "
            f"{obj.remaining} remaining"
        )

    @admin.display(description="Progress page")
    def progress_page(self, obj: EnrichmentRun) -> SafeString:
        return format_html('<a href="{0}">{0}</a>', run_page_url(obj))

    @admin.display(description="Time left")
    def eta(self, obj: EnrichmentRun) -> str:
        seconds = obj.eta_seconds()
        if seconds is None:
            return "-"
        return f"about {seconds // 60} min {seconds % 60} s"

    @admin.display(description="Batch job")
    def batch_job(self, obj: EnrichmentRun) -> str:
        if not obj.batch_job_id:
            return "-"
        url = reverse("admin:batches_batchjob_change", args=[obj.batch_job_id])
        return format_html('<a href="{}">{}</a>', url, obj.batch_job_id)

    @admin.display(description="Retry of")
    def retry_of_link(self, obj: EnrichmentRun) -> str:
        if not obj.retry_of_id:
            return "-"
        url = reverse("admin:enrichment_enrichmentrun_change", args=[obj.retry_of_id])
        return format_html('<a href="{}">{}</a>', url, obj.retry_of)

    @admin.display(description="Failed conversations")
    def failed_items(self, obj: EnrichmentRun) -> str:
        items = list(
            obj.items.filter(outcome=ItemOutcome.FAILED)
            .select_related("conversation")
            .only(
                "position",
                "error",
                "error_category",
                "conversation__conversation_id",
                "conversation__conversation_name",
            )
            .order_by("position")[:FAILED_ITEMS_SHOWN]
        )
        if not items:
            return "None."
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td style="white-space:pre-wrap">{}</td></tr>',
            (
                (
                    item.position,
                    _conversation_change_link(item.conversation),
                    error_category_label(item.error_category),
                    item.error or "-",
                )
                for item in items
            ),
        )
        table = format_html(
            '<table class="run-failed-items"><thead><tr><th>#</th><th>Conversation</th>'
            "<th>Error category</th><th>Error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
        if len(items) < FAILED_ITEMS_SHOWN:
            return table
        total = obj.items.filter(outcome=ItemOutcome.FAILED).count()
        return format_html("{}<p>The first {} of {} failed.</p>", table, len(items), total)

    # Actions --------------------------------------------------------------------------------

    @admin.action(
        description="Cancel this run",
        description_plural="Cancel selected runs",
        permissions=["enrich"],
        location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
    )
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[EnrichmentRun]) -> None:
        report = cancel_runs_for_admin(queryset)
        self.message_user(request, report.message, report.level)

    @admin.action(
        description="Retry failed of this run",
        description_plural="Retry failed of selected runs",
        permissions=["enrich"],
        location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
    )
    def retry_failed_runs(self, request: HttpRequest, queryset: QuerySet[EnrichmentRun]) -> None:
        report = retry_runs_for_admin(queryset, user=request.user)
        self.message_user(request, report.message, report.level)


# Scaffolding ------------------------------------------------------------------------------


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "persona_key", "archetype", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "persona_key", "archetype"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(EmotionalArc)
class EmotionalArcAdmin(admin.ModelAdmin):
    list_display = ["name", "arc_key", "starting_emotion", "ending_emotion", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "arc_key", "starting_emotion", "ending_emotion"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(TrainingTopic)
class TrainingTopicAdmin(admin.ModelAdmin):
    list_display = ["name", "topic_key", "category", "complexity_level", "is_active"]
    list_filter = ["is_active", "category", "complexity_level"]
    search_fields = ["name", "topic_key", "category"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "tier", "emotional_arc_type", "is_active"]
    list_filter = ["is_active", "tier", "category"]
    search_fields = ["name", "category", "emotional_arc_type"]
    readonly_fields = ["id", "created_at", "updated_at"]
