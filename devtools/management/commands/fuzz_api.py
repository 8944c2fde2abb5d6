"""The API against its own OpenAPI schema, with schemathesis: every operation, its
examples, coverage, fuzzing and stateful phases, every check, over a real HTTP server.

``bin/fuzz-api`` runs it on a scratch database; it prints schemathesis' report and exits
with its status (0 when no server error and no schema violation was found).
"""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from conversations.imports import import_scaffolding
from core.tokens import create_token
from devtools.demo.generator import (
    generate_conversation,
    load_demo_scaffolding,
    pick_scaffolding,
    scaffolding_paths,
)
from enrichment.models import RunSource
from enrichment.selection import select_ids
from enrichment.services import enrich
from intake.files import import_conversations
from training import eligibility as training_selection
from training.services import create_training_file

# The throttles are part of what is tested (429 is documented), but at the production
# rates the run would test little else.
FUZZ_RATES = {
    "API_THROTTLE_USER": "100000/minute",
    "API_THROTTLE_ANON": "100000/minute",
    "API_THROTTLE_FAILED_TOKENS": "100000/minute",
}


def known_ids_config(ids: dict[str, list[str]]) -> str:
    """schemathesis.toml: ids that exist, used in most generated requests (the rest stay
    random, so unknown ids are tried too)."""
    lines = []
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name, probability in (
        ("path.conversation_id", "conversations", 0.8),
        ("path.job_id", "jobs", 0.8),
        ("path.run_id", "runs", 0.8),
        ("body.conversationIds[*]", "conversations", 0.8),
        ("body.batchJobId", "jobs", 0.8),
        ("path.training_file_id", "trainingFiles", 0.8),
    ):
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = {probability} }}')
    # A generation request names scaffolding that exists and a priced model: a schema-valid
    # body with invented ones is refused by design (400 naming each), so those operations
    # alone skip the check that valid bodies are accepted; every other check still runs.
    for operation_id in ("create_generation_job", "preview_generation_job"):
        lines += [
            "",
            "[[operations]]",
            f'include-operation-id = "{operation_id}"',
            "checks.positive_data_acceptance.enabled = false",
        ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Command(BaseCommand):
    help = "Run schemathesis against the API over a real server (use bin/fuzz-api)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--max-examples", type=int, default=1000, metavar="N")
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument("--workers", default="1")
        parser.add_argument(
            "schemathesis_args",
            nargs="*",
            metavar="-- SCHEMATHESIS_OPTION",
            help="more options for `schemathesis run`, e.g. -- --include-operation-id=NAME",
        )
        parser.add_argument(
            "--report-dir", type=Path, default=Path(settings.BASE_DIR) / "test-artifacts" / "fuzz"
        )

    def handle(
        self,
        *args,
        max_examples: int,
        seed: int,
        workers: str,
        report_dir: Path,
        schemathesis_args: list[str],
        **options,
    ) -> None:
        key, ids = self.seed_data()
        report_dir.mkdir(parents=True, exist_ok=True)
        config = report_dir / "schemathesis.toml"
        config.write_text(known_ids_config(ids))
        port = free_port()
        # A provider key, so that generation requests are judged on their bodies (without
        # one they answer 503 by design); no worker runs, and the provider's address is a
        # closed local port, so nothing is sent anywhere.
        env = {
            **os.environ,
            **FUZZ_RATES,
            "ANTHROPIC_API_KEY": "sk-ant-fuzz",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        }
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            self.wait_for(f"{base}/api/schema/", server)
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                f"--config-file={config}",
                "run",
                f"{base}/api/schema/",
                "--phases=examples,coverage,fuzzing,stateful",
                f"--max-examples={max_examples}",
                f"--seed={seed}",
                f"--workers={workers}",
                "--header",
                f"Authorization: Token {key}",
                "--report=junit",
                f"--report-dir={report_dir}",
                "--request-timeout=60",
                *schemathesis_args,
            ]
            self.stdout.write(f"$ {' '.join(command[:-8])} …")
            self.stdout.flush()
            status = subprocess.call(command, env=env)
        finally:
            server.terminate()
            server.wait(timeout=30)
        if status:
            raise CommandError(f"schemathesis found problems (exit status {status})")

    def seed_data(self) -> tuple[str, dict[str, list[str]]]:
        """A user with a token, a batch job of real conversations (two of them enriched),
        a run and a training file: what the generated requests find besides random ids."""
        import_scaffolding(scaffolding_paths())
        user = get_user_model().objects.create_user("fuzz")
        rows = load_demo_scaffolding()
        rng = random.Random(1)
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for n in range(5):
                path = Path(folder) / f"fuzz-{n}.json"
                document = generate_conversation(rng, turns=6, **pick_scaffolding(rng, rows))
                path.write_text(json.dumps(document))
                paths.append(path)
            imported = import_conversations(paths, owner=user, batch_name="Fuzz", auto_enrich=False)
        conversations = [str(c.pk) for c in imported.conversations]
        enrich(select_ids(conversations[:2], user=user), user=user, source=RunSource.CLI)
        run = enrich(
            select_ids(conversations[2:], user=user),
            user=user,
            source=RunSource.CLI,
            background=True,
        ).run
        training_file = create_training_file(
            name="Fuzz",
            user=user,
            selection=training_selection.select_ids(conversations[:2], user=user),
        ).training_file
        ids = {
            "trainingFiles": [str(training_file.pk)],
            "conversations": conversations
            + [str(c.conversation_id) for c in imported.conversations],
            "jobs": [str(imported.batch_job.pk)],
            "runs": [str(run.pk)],
        }
        return create_token(user, name="fuzz")[1], ids

    def wait_for(self, url: str, server: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("the server exited before answering")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"{url} did not answer within {timeout:.0f} s")
