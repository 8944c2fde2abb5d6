import json
from argparse import BooleanOptionalAction
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from conversations.imports import ImportFailed
from conversations.models import Tier
from core.errors import StorageFailed
from intake.files import import_conversations


class Command(BaseCommand):
    help = (
        "Import generated conversation files (raw or parsed JSON) as one completed batch "
        "job. Unparseable files are imported too and fail validation at enrichment. Files "
        "whose content the owner imported before are reported and skipped unless "
        "--allow-duplicates. The last line printed is a JSON summary."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "paths", nargs="+", type=Path, metavar="PATH", help="conversation JSON files"
        )
        parser.add_argument(
            "--owner", required=True, metavar="USERNAME", help="the user who owns the import"
        )
        parser.add_argument(
            "--batch-name", metavar="NAME", help="the batch job's name (default: Import <date>)"
        )
        parser.add_argument(
            "--tier",
            choices=Tier.values,
            default=Tier.TEMPLATE,
            help="the tier of every conversation (default: template)",
        )
        parser.add_argument(
            "--auto-enrich",
            action=BooleanOptionalAction,
            default=True,
            help="enrich the imported conversations in the background (default: yes)",
        )
        parser.add_argument(
            "--allow-duplicates",
            action="store_true",
            help="import files whose content the owner imported before (default: skip them)",
        )

    def handle(
        self,
        *args,
        paths: list[Path],
        owner: str,
        batch_name,
        tier,
        auto_enrich,
        allow_duplicates,
        **options,
    ) -> None:
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(owner)
        except User.DoesNotExist:
            raise CommandError(f"--owner {owner!r}: no such user") from None
        try:
            result = import_conversations(
                paths,
                owner=user,
                batch_name=batch_name,
                tier=tier,
                auto_enrich=auto_enrich,
                allow_duplicates=allow_duplicates,
            )
        except (ImportFailed, StorageFailed) as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}", style_func=self.style.WARNING)
        for conversation in result.conversations:
            self.stdout.write(
                f"{conversation.conversation_id}  {conversation.processing_status:<12}  "
                f"{conversation}"
            )
        for duplicate in result.duplicates:
            self.stdout.write(f"skipped (duplicate)  {duplicate.message}")
        if result.duplicates:
            skipped = len(result.duplicates)
            self.stdout.write(
                f"{skipped} duplicate file{'s' if skipped != 1 else ''} skipped "
                "(--allow-duplicates imports them again)."
            )
        if result.batch_job is None:
            self.stdout.write("Nothing imported: every file was imported before.")
        if result.enrichment_run:
            self.stdout.write(
                f"Auto-enrich: run {result.enrichment_run.pk} queued "
                f"({result.enrichment_run.total} conversations; bin/worker processes it)."
            )
        self.stdout.write(json.dumps(result.summary()))
