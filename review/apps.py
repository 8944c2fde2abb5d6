from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """People deciding about enriched conversations: the review queue, claims, actions
    and their history (the rows are the data app's; this app acts on them)."""

    name = "review"
    verbose_name = "Review"
    default_auto_field = "django.db.models.BigAutoField"
