from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.errors import DomainError
from generation.drive import RETRY_SECONDS, drive
from generation.jobs import GenerationProblems, GenerationRequest, create_generation_job
from generation.preview import preview
from generation.provider import ProviderError
from generation.providers import get_provider
from generation.tasks import enqueue_generation


class Command(BaseCommand):
    help = (
        "Generate conversations with the LLM provider: one per persona × emotional arc × "
        "training topic × repeat, as a batch job. --dry-run prints the estimate and one "
        "prompt and creates nothing; --follow drives the job to its end in this process."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--persona", nargs="+", required=True, metavar="KEY")
        parser.add_argument("--arc", nargs="+", required=True, metavar="KEY")
        parser.add_argument("--topic", nargs="+", required=True, metavar="KEY")
        parser.add_argument("--template", metavar="NAME", help="default: each arc's template")
        parser.add_argument("--repeat", type=int, default=1)
        parser.add_argument("--mode", choices=["batch", "realtime"])
        parser.add_argument("--model")
        parser.add_argument("--max-tokens", type=int)
        parser.add_argument("--budget", type=Decimal, metavar="USD")
        parser.add_argument("--name", help="the batch job's name")
        parser.add_argument("--owner", metavar="USERNAME", help="the user who owns the job")
        parser.add_argument("--no-enrich", action="store_true", help="do not auto-enrich")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--follow", action="store_true")
        parser.add_argument("--poll-seconds", type=float, help="default: GENERATION_POLL_SECONDS")

    def handle(self, *args, **options) -> None:
        keys = {
            "persona_keys": options["persona"],
            "arc_keys": options["arc"],
            "topic_keys": options["topic"],
        }
        try:
            if options["dry_run"]:
                self._dry_run(keys, options)
                return
            provider = get_provider()  # without a key: says how to set it, creates nothing
            owner = self._owner(options["owner"])
            with transaction.atomic():
                job = create_generation_job(
                    owner,
                    GenerationRequest(
                        name=options["name"] or f"Generated: {', '.join(options['topic'])}"[:255],
                        template_name=options["template"],
                        repeat=options["repeat"],
                        mode=options["mode"],
                        model=options["model"],
                        max_tokens=options["max_tokens"],
                        budget_usd=options["budget"],
                        auto_enrich=not options["no_enrich"],
                        **keys,
                    ),
                )
                if not options["follow"]:
                    # The workers take it from here (generation.tasks).
                    enqueue_generation(job.pk)
        except GenerationProblems as exc:
            lines = [exc.message, *(f"- {p['message']}" for p in exc.problems)]
            raise CommandError("\n".join(lines)) from None
        except (DomainError, ProviderError) as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"batch job {job.pk}: {job.total_items} items ({job.generation.mode})")
        if options["follow"]:
            poll = options["poll_seconds"]
            poll = settings.GENERATION_POLL_SECONDS if poll is None else poll
            try:
                outcome = drive(
                    job,
                    provider,
                    poll_seconds=poll,
                    retry_seconds=min(poll, RETRY_SECONDS),
                    say=self.stdout.write,
                )
            except ProviderError as exc:
                raise CommandError(f"batch job {job.pk} stopped: {exc.message}") from None
            self.stdout.write(outcome)

    def _dry_run(self, keys: dict, options: dict) -> None:
        _, body = preview(
            template_name=options["template"],
            repeat=options["repeat"],
            mode=options["mode"],
            model=options["model"],
            max_tokens=options["max_tokens"],
            shown=1,
            **keys,
        )
        estimate = body["estimate"]
        self.stdout.write(f"items: {body['items']}")
        self.stdout.write(
            f"estimate: {estimate['inputTokens']:,} input and {estimate['outputTokens']:,} "
            f"output tokens; {estimate['costUsdBatch']} USD in batch mode, "
            f"{estimate['costUsdRealtime']} USD in realtime mode"
        )
        for problem in body["problems"]:
            self.stdout.write(f"problem: {problem['message']}")
        for prompt in body["prompts"]:
            self.stdout.write(
                f"--- prompt ({prompt['personaKey']} × {prompt['emotionalArcKey']} × "
                f"{prompt['trainingTopicKey']}, template {prompt['templateName']!r}) ---"
            )
            self.stdout.write(prompt["prompt"])
        self.stdout.write("dry run: nothing was created")

    def _owner(self, username: str | None):
        if username is None:
            return None
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"--owner {username!r}: no such user") from None
