from django.apps import AppConfig


class EnrichmentConfig(AppConfig):
    name = "enrichment"
    verbose_name = "Enrichment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from enrichment.runs.backend import worker_started
        from enrichment.tasks import rearm_run_watchdogs

        worker_started.connect(rearm_run_watchdogs, dispatch_uid="rearm_run_watchdogs")
