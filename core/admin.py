"""API tokens in the admin: who has which, when used; staff revoke by deleting. Keys are
created only where they can be shown once (the tokens page, ``create_api_token``)."""

from django.contrib import admin

from core.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False
