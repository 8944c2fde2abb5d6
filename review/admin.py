"""Review in the admin: approve or reject the selected conversations (rejecting asks for
reasons and a comment first), and the review actions, read only."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from conversations.models import Conversation, ReviewAction, ReviewReason
from core.errors import DomainError

from .queue import may_review_others
from .services import review_many


def _review(modeladmin, request: HttpRequest, queryset: QuerySet, action: str, comment, reasons):
    rows = list(queryset.filter(is_active=True).order_by("created_at", "pk"))
    limit = settings.REVIEW_BULK_LIMIT
    if len(rows) > limit:
        modeladmin.message_user(
            request, f"At most {limit} conversations at once; nothing was done.", messages.ERROR
        )
        return
    try:
        results = review_many(
            [(row, str(row.pk)) for row in rows], request.user, action, comment, reasons
        )
    except DomainError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    reviewed = sum(result.reviewed for result in results)
    verb = "Approved" if action == "approved" else "Rejected"
    modeladmin.message_user(request, f"{verb} {reviewed} of {len(results)}.", messages.SUCCESS)
    names = {row.pk: row.display_name for row in rows}
    for result in results:
        if not result.reviewed:
            modeladmin.message_user(
                request, f"{names[result.pk]}: {result.error}", messages.WARNING
            )


@admin.action(description="Approve (review)", permissions=["review"])
def approve_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Conversation]):
    _review(modeladmin, request, queryset, "approved", "", [])


@admin.action(description="Reject (review)…", permissions=["review"])
def reject_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Conversation]):
    if request.POST.get("post") == "yes":
        comment = request.POST.get("comment", "")
        reasons = request.POST.getlist("reasons")
        return _review(modeladmin, request, queryset, "rejected", comment, reasons)
    rows = list(queryset.filter(is_active=True)[: settings.REVIEW_BULK_LIMIT + 1])
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Reject conversations?",
        "opts": modeladmin.model._meta,
        "conversations": rows[: settings.REVIEW_BULK_LIMIT],
        "too_many": len(rows) > settings.REVIEW_BULK_LIMIT,
        "limit": settings.REVIEW_BULK_LIMIT,
        "reasons": ReviewReason.choices,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/review/reject_confirmation.html", context)


# The conversations' admin is the enrichment app's; review adds its actions to it, for
# those who may review others' conversations (the admin lists everyone's).
_conversations = admin.site.get_model_admin(Conversation)
_conversations.actions = [*_conversations.actions, approve_selected, reject_selected]
_conversations.has_review_permission = lambda request: may_review_others(request.user)


@admin.register(ReviewAction)
class ReviewActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "reviewer", "conversation", "comment"]
    list_filter = ["action"]
    list_select_related = ["reviewer", "conversation"]
    search_fields = ["comment", "conversation__conversation_name"]
    raw_id_fields = ["conversation", "reviewer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
