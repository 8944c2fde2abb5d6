from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """The data: conversations, the scaffolding they are generated from, and the batch jobs
    that bring them in. Every feature app works on these rows; this app does nothing to
    them itself."""

    name = "conversations"
    verbose_name = "Conversations"
    default_auto_field = "django.db.models.BigAutoField"
