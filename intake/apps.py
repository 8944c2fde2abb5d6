from django.apps import AppConfig


class IntakeConfig(AppConfig):
    """Getting conversations in: batch jobs fed through the API, uploaded on a page or
    imported from files on the command line, with their duplicates found."""

    name = "intake"
    verbose_name = "Intake"
    default_auto_field = "django.db.models.BigAutoField"
