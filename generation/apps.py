from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.sections import Section, add_section

        from . import overview

        # A batch job's JSON shows how it is generated (intake does not know generation).
        add_section(
            "batch_job",
            Section(
                "generation",
                overview.generation_json,
                overview.SCHEMA,
                select_related=overview.SELECT_RELATED,
                prefetch=overview.PREFETCH,
            ),
        )
