"""Seeding a database with our demo users, scaffolding and batch jobs."""

import json
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Permission
from django.db import transaction
from django.utils.text import slugify

from conversations.imports import ImportCounts, import_scaffolding
from conversations.models import BatchJob, EmotionalArc, Persona, TrainingTopic
from intake.files import ConversationImport, import_conversations

from .generator import (
    generate_conversation,
    invalid_conversation,
    load_demo_scaffolding,
    pick_scaffolding,
    scaffolding_paths,
    truncated_conversation_bytes,
)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
ANALYST_USERNAME = "analyst"
ANALYST_PASSWORD = "analyst-password"
ANALYST_CONVERSATIONS = 3
ENRICH_PERMISSION = ("conversations", "enrich_conversation")
MIN_CONVERSATIONS = 3  # one valid, one truncated, one invalid


class KnownPasswordsRefused(Exception):
    """The demo users' passwords are printed in the README: no such login outside a
    development setup unless asked for."""


@dataclass
class DemoResult:
    demo_user: AbstractUser
    analyst_user: AbstractUser
    created_users: list[str] = field(default_factory=list)
    scaffolding: list[ImportCounts] = field(default_factory=list)
    imports: list[ConversationImport] = field(default_factory=list)

    @property
    def batch_jobs(self) -> list[BatchJob]:
        """Batch jobs created by this run (none when the demo was already seeded)."""
        return [result.batch_job for result in self.imports]


def seed_demo(
    *,
    stdout: TextIO | None = None,
    conversations: int = 12,
    force: bool = False,
    allow_known_passwords: bool = False,
) -> DemoResult:
    """Create (or bring back to their demo state) the users ``demo`` (superuser) and
    ``analyst`` (non-staff), upsert the demo scaffolding, and import generated
    conversations as completed batch jobs.

    Safe to run again: scaffolding is upserted by natural key, and a user's demo batch job
    is created only when that user has no batch job yet. ``force`` adds another demo batch
    job for ``demo`` anyway. The demo batch has one truncated (unparseable) and one invalid
    but parseable conversation among ``conversations``; the analyst's has three valid ones.

    With debug off (a deployment), the users and their well-known passwords are refused
    (``KnownPasswordsRefused``) unless ``allow_known_passwords``.
    """
    if conversations < MIN_CONVERSATIONS:
        raise ValueError(f"conversations must be at least {MIN_CONVERSATIONS}")
    if not settings.DEBUG and not allow_known_passwords:
        raise KnownPasswordsRefused(
            f"DJANGO_DEBUG is off: seed_demo would create the users {DEMO_USERNAME!r} "
            f"(a superuser) and {ANALYST_USERNAME!r} with passwords anyone can read. "
            "Use --allow-known-passwords to do it anyway (never on a reachable server)."
        )

    def say(line: str) -> None:
        if stdout is not None:
            stdout.write(f"{line}\n")

    demo, demo_created = _demo_user(DEMO_USERNAME, DEMO_PASSWORD, is_staff=True, is_superuser=True)
    analyst, analyst_created = _demo_user(
        ANALYST_USERNAME, ANALYST_PASSWORD, is_staff=False, is_superuser=False
    )
    result = DemoResult(demo, analyst)
    for user, created in ((demo, demo_created), (analyst, analyst_created)):
        if created:
            result.created_users.append(user.get_username())
        say(f"user {user.get_username()}: {'created' if created else 'already there'}")

    result.scaffolding = import_scaffolding(scaffolding_paths())
    for counts in result.scaffolding:
        say(str(counts))
    scaffolding = _scaffolding_with_ids()

    demo_jobs = BatchJob.objects.filter(created_by=demo).count()
    if force or not demo_jobs:
        number = demo_jobs + 1
        suffix = f" #{number}" if number > 1 else ""
        result.imports.append(
            _import_generated(
                random.Random(number),
                scaffolding,
                owner=demo,
                batch_name=f"Demo: financial-planning conversations{suffix}",
                count=conversations,
                broken=True,
            )
        )
    if not BatchJob.objects.filter(created_by=analyst).exists():
        result.imports.append(
            _import_generated(
                random.Random(f"{ANALYST_USERNAME}-1"),
                scaffolding,
                owner=analyst,
                batch_name="Analyst sample: three conversations",
                count=ANALYST_CONVERSATIONS,
                broken=False,
            )
        )
    for created in result.imports:
        summary = created.summary()
        say(
            f"batch job {created.batch_job.name!r} ({created.batch_job.pk}) for "
            f"{created.batch_job.created_by}: {summary['imported']} conversations, "
            f"{summary['unparseable']} unparseable"
        )
    if not result.imports:
        say("demo batch jobs already there (use --force to add another)")
    return result


@transaction.atomic
def _demo_user(
    username: str, password: str, *, is_staff: bool, is_superuser: bool
) -> tuple[AbstractUser, bool]:
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    # Re-running puts the demo login back as printed, even if someone changed it.
    if created or not user.check_password(password):
        user.set_password(password)
    user.is_active = True
    user.is_staff = is_staff
    user.is_superuser = is_superuser
    user.save()
    app_label, codename = ENRICH_PERMISSION
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    return user, created


def _scaffolding_with_ids() -> dict[str, list[dict]]:
    """The demo rows, each with the ``id`` of its database row, so generated
    ``input_parameters`` carry real ids as the original's did."""
    rows = load_demo_scaffolding()
    for kind, model, key in (
        ("personas", Persona, "persona_key"),
        ("emotional_arcs", EmotionalArc, "arc_key"),
        ("training_topics", TrainingTopic, "topic_key"),
    ):
        ids = dict(
            model.objects.filter(**{f"{key}__in": [row[key] for row in rows[kind]]}).values_list(
                key, "pk"
            )
        )
        rows[kind] = [{**row, "id": str(ids[row[key]])} for row in rows[kind]]
    return rows


def _import_generated(
    rng: random.Random,
    scaffolding: dict[str, list[dict]],
    *,
    owner: AbstractUser,
    batch_name: str,
    count: int,
    broken: bool,
) -> ConversationImport:
    truncated_at, invalid_at = rng.sample(range(count), 2) if broken else (None, None)
    with tempfile.TemporaryDirectory(prefix="demo-conversations-") as directory:
        paths: list[Path] = []
        for index in range(count):
            combination = pick_scaffolding(rng, scaffolding)
            options = {**combination, "turns": rng.randint(6, 10)}
            first_name = combination["persona"]["name"].split()[0]
            path = Path(directory) / (
                f"{slugify(first_name)}-{combination['topic']['topic_key']}-{index + 1:02d}.json"
            )
            if index == truncated_at:
                path.write_bytes(truncated_conversation_bytes(rng, **options))
            else:
                make = invalid_conversation if index == invalid_at else generate_conversation
                document = make(rng, **options)
                path.write_text(json.dumps(document, indent=2, ensure_ascii=False), "utf-8")
            paths.append(path)
        # Left for the user to enrich, so the demo shows "Enrich All" at work.
        return import_conversations(paths, owner=owner, batch_name=batch_name, auto_enrich=False)
