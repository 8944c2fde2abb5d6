from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conversations.imports import ImportFailed, import_scaffolding


class Command(BaseCommand):
    help = (
        "Import scaffolding exports (NDJSON, one row a line). The kind comes from the file "
        "name: personas, emotional_arcs, training_topics or prompt_templates. Rows are "
        "upserted by natural key; nothing is written unless every file is valid."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE.ndjson")

    def handle(self, *args, files: list[Path], **options) -> None:
        try:
            results = import_scaffolding(files)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        for counts in results:
            self.stdout.write(str(counts))
