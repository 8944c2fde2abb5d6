"""Batch jobs in the admin: progress at a glance, items read-only, and enrichment of a
job's completed items through the same service as every other entry point (a background
run above ``ENRICHMENT_BULK_LIMIT``)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import BatchItem, BatchItemStatus, BatchJob, BatchJobStatus, Conversation
from enrichment.admin import (
    ADMIN_CSS,
    ENRICH_PERMISSION,
    AdminReport,
    badge,
    enrich_for_admin,
    enrichment_status_badge,
    short_datetime,
    truncated,
)
from enrichment.selection import select_batch_job, select_queryset

# Items shown on a job's page; the rest are one click away in the paginated item list.
ITEMS_SHOWN = 50

_JOB_TONES = {
    BatchJobStatus.COMPLETED: "green",
    BatchJobStatus.FAILED: "red",
    BatchJobStatus.CANCELLED: "grey",
    BatchJobStatus.PROCESSING: "blue",
    BatchJobStatus.PAUSED: "amber",
}
_ITEM_TONES = {
    BatchItemStatus.COMPLETED: "green",
    BatchItemStatus.FAILED: "red",
    BatchItemStatus.PROCESSING: "blue",
    BatchItemStatus.CANCELLED: "grey",
}


def _items_url(job: BatchJob) -> str:
    return reverse("admin:conversations_batchitem_changelist") + f"?batch_job__id__exact={job.pk}"


def _conversation_link(conversation: Conversation | None) -> str:
    if conversation is None:
        return "-"
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    return format_html('<a href="{}">{}</a>', url, conversation.display_name)


def enrich_jobs_for_admin(jobs: QuerySet[BatchJob], *, user) -> AdminReport:
    """Enrich the conversations of the completed items of ``jobs``. One job is enriched
    as that job (it keeps at most one unfinished run); several as one selection."""
    first = list(jobs[:2])
    if len(first) == 1:
        return enrich_for_admin(select_batch_job(first[0], user=user), user=user)
    items = BatchItem.objects.filter(batch_job__in=jobs, status=BatchItemStatus.COMPLETED)
    selection = select_queryset(
        Conversation.objects.filter(pk__in=items.values("conversation"), is_active=True),
        f"Enrich completed items of {jobs.count()} batch jobs",
    )
    return enrich_for_admin(selection, user=user)


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = [
        "job_name",
        "status_badge",
        "total_items",
        "successful_items",
        "generation_failed",
        "progress",
        "owner",
        "created",
    ]
    list_filter = ["status", "priority", "tier", "auto_enrich"]
    list_select_related = ["created_by"]
    list_per_page = 50  # a row costs about a millisecond to render
    search_fields = ["id__exact", "name"]
    search_help_text = "A job id or words of the name."
    actions = ["enrich_completed_items"]
    fields = [
        "id",
        "name",
        "status_badge",
        "job_type",
        "priority",
        "tier",
        "auto_enrich",
        "created_by",
        ("total_items", "completed_items", "successful_items", "failed_items"),
        "progress",
        "shared_parameters",
        ("started_at", "completed_at", "estimated_time_remaining"),
        ("created_at", "updated_at"),
        "items_table",
    ]
    # Status and counters are written by the batch services only.
    readonly_fields = [
        "id",
        "status_badge",
        "job_type",
        "created_by",
        "total_items",
        "completed_items",
        "successful_items",
        "failed_items",
        "progress",
        "shared_parameters",
        "started_at",
        "completed_at",
        "estimated_time_remaining",
        "created_at",
        "updated_at",
        "items_table",
    ]

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_enrich_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENRICH_PERMISSION)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: BatchJob) -> SafeString:
        return badge(obj.get_status_display(), _JOB_TONES.get(obj.status, "grey"), value=obj.status)

    @admin.display(description="Progress")
    def progress(self, obj: BatchJob) -> str:
        return f"{obj.progress_percent}%"

    @admin.display(description="Name", ordering="name")
    def job_name(self, obj: BatchJob) -> str:
        return truncated(obj.name)

    @admin.display(description="Generation failed", ordering="failed_items")
    def generation_failed(self, obj: BatchJob) -> int:
        return obj.failed_items

    @admin.display(description="Owner", ordering="created_by__username")
    def owner(self, obj: BatchJob) -> str:
        return truncated(str(obj.created_by)) if obj.created_by else "-"

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: BatchJob) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Items")
    def items_table(self, obj: BatchJob) -> str:
        items = list(obj.items.select_related("conversation").order_by("position")[:ITEMS_SHOWN])
        if not items:
            return "No items."
        total = obj.items.count()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.position,
                    item.topic,
                    badge(
                        item.get_status_display(),
                        _ITEM_TONES.get(item.status, "grey"),
                        value=item.status,
                    ),
                    _conversation_link(item.conversation),
                    enrichment_status_badge(item.conversation.enrichment_status)
                    if item.conversation
                    else "-",
                    item.error_message,
                )
                for item in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>Topic</th><th>Status</th><th>Conversation</th>"
            "<th>Enrichment</th><th>Error</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All {} item{}</a> · <a href="{}">Conversations of this job</a></p>',
            rows,
            _items_url(obj),
            total,
            pluralize(total),
            reverse("admin:conversations_conversation_changelist") + f"?batch_job={obj.pk}",
        )

    @admin.action(description="Enrich completed items of selected jobs", permissions=["enrich"])
    def enrich_completed_items(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        report = enrich_jobs_for_admin(queryset, user=request.user)
        self.message_user(request, report.message, report.level)


@admin.register(BatchItem)
class BatchItemAdmin(admin.ModelAdmin):
    list_display = ["batch_job", "position", "topic", "status", "conversation", "error_message"]
    list_filter = ["status", ("batch_job", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["batch_job", "conversation"]
    search_fields = ["topic", "error_message"]
    ordering = ["batch_job", "position"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
