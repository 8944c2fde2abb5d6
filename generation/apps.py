from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.sections import BulkSection, Section, add_bulk_section, add_section

        from . import item_overview, overview, provenance

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
        # And each generated item of its item list, its attempts.
        for name, render, schema in (
            ("attempts", item_overview.attempts, item_overview.ATTEMPTS_SCHEMA),
            ("stopReason", item_overview.stop_reason, item_overview.STOP_REASON_SCHEMA),
            ("parseMethod", item_overview.parse_method, item_overview.PARSE_METHOD_SCHEMA),
        ):
            add_section(
                "batch_item", Section(name, render, schema, prefetch=item_overview.PREFETCH)
            )
        # A training file's generated members say which model and prompt made them.
        add_bulk_section("training_member", BulkSection("generation", provenance.provenance))
        # Nobody feeds or finishes a generation job from outside (intake's endpoints).
        from intake.items import check_callers

        from . import control

        check_callers(control.refuse_callers)
