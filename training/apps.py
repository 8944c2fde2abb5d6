from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training files"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from enrichment.runs.backend import worker_started
        from training.tasks import rearm_build_watchdogs

        worker_started.connect(rearm_build_watchdogs, dispatch_uid="rearm_build_watchdogs")
