from django.apps import AppConfig


class BatchesConfig(AppConfig):
    """History only: the migrations that created the batch-job tables, which the
    conversations app owns now (its models moved there). Kept so that a database made by
    them upgrades, and a new one is made the same way."""

    name = "batches"
    verbose_name = "Batch jobs (history)"
    default_auto_field = "django.db.models.BigAutoField"
