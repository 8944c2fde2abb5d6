"""Generation in the admin, to read: jobs' settings and costs, provider batches, attempts.
Nothing here changes them (the engine does); templates are edited under Conversations."""

from django.contrib import admin

from .models import GenerationAttempt, GenerationSettings, ProviderBatch


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationSettings)
class GenerationSettingsAdmin(ReadOnly):
    list_display = ["batch_job", "mode", "model", "cost_usd", "budget_usd", "created_at"]
    list_filter = ["mode", "model"]
    list_select_related = ["batch_job"]
    search_fields = ["batch_job__name", "model", "template_name"]


@admin.register(ProviderBatch)
class ProviderBatchAdmin(ReadOnly):
    list_display = [
        "__str__", "batch_job", "status", "requests", "succeeded", "errored", "expired",
        "canceled", "created_at",
    ]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["batch_job"]
    search_fields = ["provider_batch_id", "batch_job__name"]


@admin.register(GenerationAttempt)
class GenerationAttemptAdmin(ReadOnly):
    list_display = [
        "custom_id", "status", "stop_reason", "parse_method", "cost_usd", "model", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "mode", "stop_reason", "parse_method"]
    search_fields = ["custom_id", "prompt_hash", "message_id"]
    raw_id_fields = ["item", "provider_batch", "conversation", "template"]
