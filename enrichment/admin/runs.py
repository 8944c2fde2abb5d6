"""Background runs in the admin: follow, cancel and retry them."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import Conversation
from enrichment.models import EnrichmentRun, ItemOutcome

from .conversations import ENRICH_PERMISSION
from .display import (
    ADMIN_CSS,
    error_category_label,
    preformatted,
    run_status_badge,
    short_datetime,
    truncated,
)
from .reports import cancel_runs_for_admin, retry_runs_for_admin, run_page_url

# Failed items listed on a run's admin page; the rest are counted.
FAILED_ITEMS_SHOWN = 100


def _conversation_change_link(conversation: Conversation) -> SafeString:
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    return format_html('<a href="{}">{}</a>', url, conversation)


@admin.register(EnrichmentRun)
class EnrichmentRunAdmin(admin.ModelAdmin):
    list_display = [
        "created",
        "name",
        "status_badge",
        "total",
        "enriched",
        "failed",
        "skipped",
        "progress",
        "owner",
    ]
    list_display_links = ["created", "name"]
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
                    "scope",
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
            {"fields": ["created_at", "started_at", "finished_at", "updated_at"]},
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
        "scope",
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
        "finished_at",
        "updated_at",
        "failed_items",
    ]

    class Media:
        css = ADMIN_CSS

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
        return truncated(str(obj))

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: EnrichmentRun) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="Started by", ordering="created_by__username")
    def owner(self, obj: EnrichmentRun) -> str:
        return truncated(str(obj.created_by)) if obj.created_by else "System"

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
        if obj.waiting_for_worker:
            return "-; no worker is running (bin/worker)"
        seconds = obj.eta_seconds()
        if seconds is None:
            return "-"
        return f"about {seconds // 60} min {seconds % 60} s"

    @admin.display(description="Over")
    def scope(self, obj: EnrichmentRun) -> str:
        if obj.batch_job is None:
            return "-"
        url = reverse("admin:conversations_batchjob_change", args=[obj.batch_job_id])
        return format_html('Batch job <a href="{}">{}</a>', url, obj.batch_job.name)

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
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.position,
                    _conversation_change_link(item.conversation),
                    error_category_label(item.error_category),
                    preformatted(item.error or "-"),
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
