"""Conversations in the admin: browse, read reports, and enrich selections through the
front door (a background run above ``ENRICHMENT_BULK_LIMIT``)."""

import uuid

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import BatchJob, Conversation, jobs_of
from core.pagination import EstimatedPaginator
from enrichment.selection import select_queryset

from .display import (
    ADMIN_CSS,
    enrichment_status_badge,
    error_category_label,
    preformatted,
    raw_json,
    report_issues,
    short_datetime,
    truncated,
)
from .reports import enrich_for_admin, force_preview

ENRICH_PERMISSION = "conversations.enrich_conversation"


class BatchJobFilter(admin.SimpleListFilter):
    """The sidebar filter by batch job: recent ones listed, any id accepted in the URL
    (links from a job)."""

    title = "batch job"
    parameter_name = "batch_job"
    shown = 30

    def lookups(self, request, model_admin):
        jobs = (
            BatchJob.objects.visible_to(request.user)
            .holding_conversations_of(request.user)
            .order_by("-created_at", "-id")
            .values_list("pk", "name")[: self.shown]
        )
        return [(str(pk), name) for pk, name in jobs]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            job_id = uuid.UUID(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(pk__in=Conversation.objects.in_batch_job(job_id).values("pk"))


def _job_links(jobs: list[tuple]) -> str:
    if not jobs:
        return "-"
    return format_html_join(
        ", ",
        '<a href="{}" class="truncate" title="{}">{}</a>',
        (
            (reverse("admin:conversations_batchjob_change", args=[pk]), name, name)
            for pk, name in jobs
        ),
    )


class ConversationChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # The batch jobs of the page's rows: one query, not one per row.
        jobs = jobs_of([conversation.pk for conversation in self.result_list])
        for conversation in self.result_list:
            conversation.batch_jobs = jobs.get(conversation.pk, [])


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "short_id",
        "name",
        "owner",
        "groups",
        "status_badge",
        "turns",
        "created",
    ]
    list_display_links = ["short_id", "name"]
    list_select_related = ["created_by"]
    # Exact lookups on the ids: terms that are not UUIDs skip them, and the indexes are used.
    search_fields = ["conversation_id__exact", "id__exact", "conversation_name"]
    search_help_text = "A conversation id (either form) or words of the name."
    list_per_page = 50
    # At scale, counting is the cost: an estimate above LIST_EXACT_COUNT_LIMIT, and no
    # second count of the unfiltered rows.
    paginator = EstimatedPaginator
    show_full_result_count = False
    autocomplete_fields = ["created_by", "persona", "emotional_arc", "training_topic", "template"]
    actions = ["enrich_selected", "retry_failed", "force_reenrich"]
    readonly_fields = [
        "conversation_id",
        "id",
        "groups",
        "turn_count",
        "downloads",
        "raw_response_path",
        "raw_response_size",
        "file_path",
        "file_size",
        "revision",
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
                    "groups",
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
                    ("file_path", "file_size", "revision"),
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

    class Media:
        css = ADMIN_CSS

    def get_list_filter(self, request: HttpRequest) -> list:
        return [
            "enrichment_status",
            "tier",
            BatchJobFilter,
            "persona",
            "enrichment_error_category",
            "is_active",
        ]

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return ConversationChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        # The reports can be tens of KB each and only the detail page shows them.
        return super().get_queryset(request).defer("validation_report", "normalization_report")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations come from generation and imports, each with its stored file.
        return False

    def has_enrich_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENRICH_PERMISSION)

    # Columns and read-only fields ---------------------------------------------------------

    @admin.display(description="Id", ordering="conversation_id")
    def short_id(self, obj: Conversation) -> SafeString:
        return format_html(
            '<code title="{}">{}</code>', obj.conversation_id, str(obj.conversation_id)[:8]
        )

    @admin.display(description="Name", ordering="conversation_name")
    def name(self, obj: Conversation) -> SafeString:
        return truncated(obj.display_name)

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Conversation) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Turns", ordering="turn_count")
    def turns(self, obj: Conversation) -> int:
        return obj.turn_count

    @admin.display(description="Owner", ordering="created_by__username")
    def owner(self, obj: Conversation) -> str:
        return truncated(str(obj.created_by)) if obj.created_by else "-"

    @admin.display(description="Batch job")
    def groups(self, obj: Conversation) -> str:
        jobs = getattr(obj, "batch_jobs", None)
        if jobs is None:  # the detail page
            jobs = jobs_of([obj.pk]).get(obj.pk, [])
        return _job_links(jobs)

    @admin.display(description="Enrichment", ordering="enrichment_status")
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
            "<p><strong>{}</strong></p><p>{}</p>",
            error_category_label(obj.enrichment_error_category),
            preformatted(obj.enrichment_error),
        )

    @admin.display(description="Validation report")
    def validation_report_display(self, obj: Conversation) -> str:
        report = obj.validation_report
        if not report:
            return "Not validated yet."
        if not isinstance(report, dict):
            return raw_json(report)
        return format_html(
            "<p><strong>{}</strong> (validated {})</p>{}",
            report.get("summary") or ("Valid" if report.get("isValid") else "Invalid"),
            report.get("validatedAt") or "at an unknown time",
            report_issues(report, "blockers", "warnings"),
        )

    @admin.display(description="Normalization report")
    def normalization_report_display(self, obj: Conversation) -> str:
        report = obj.normalization_report
        if not report:
            return "Not normalized yet."
        if not isinstance(report, dict):
            return raw_json(report)
        fixes = report.get("fixes") or {}
        return format_html(
            "<p>Fixes: {} control characters removed, {} strings put in Unicode NFC. "
            "Size: {} bytes.</p>{}",
            fixes.get("controlCharactersRemoved", 0),
            fixes.get("stringsNfcNormalized", 0),
            report.get("sizeBytes", "unknown"),
            report_issues(report, "errors", "warnings"),
        )

    # Actions --------------------------------------------------------------------------------

    @admin.action(description="Enrich selected conversations", permissions=["enrich"])
    def enrich_selected(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        selection = select_queryset(
            queryset.filter(is_active=True), "Enrich selected conversations"
        )
        report = enrich_for_admin(
            selection, user=request.user, selected=queryset.count(), reason="inactive"
        )
        self.message_user(request, report.message, report.level)

    @admin.action(description="Retry failed enrichments", permissions=["enrich"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        selection = select_queryset(
            queryset.failed().filter(is_active=True), "Retry failed enrichments"
        )
        report = enrich_for_admin(
            selection,
            user=request.user,
            selected=queryset.count(),
            reason="not in a failed state (or inactive)",
        )
        self.message_user(request, report.message, report.level)

    @admin.action(description="Re-enrich (force)", permissions=["enrich"])
    def force_reenrich(self, request: HttpRequest, queryset: QuerySet[Conversation]):
        conversations = queryset.filter(is_active=True)
        if request.POST.get("post") != "yes":
            return self.force_reenrich_confirmation(request, conversations)
        selection = select_queryset(conversations, "Re-enrich (force)")
        report = enrich_for_admin(selection, user=request.user, force=True)
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
            request, "admin/conversations/conversation/force_reenrich_confirmation.html", context
        )
