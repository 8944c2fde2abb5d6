"""What `manage.py enrich` tells its user: a progress bar on a terminal that is not in the
error style, the failed conversations with their errors, the page of a background run,
and help on every argument."""

import io
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command, load_command_class

from enrichment.management.display import FAILURES_LISTED, ProgressDisplay
from enrichment.models import EnrichmentRun
from enrichment.runs import lanes
from tests.factories import ConversationFactory

# Django's style for stderr (ERROR: bold red), which the progress bar used to be drawn in.
DJANGO_ERROR_STYLE = "\x1b[31;1m"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a shell's stderr does."""

    def isatty(self) -> bool:
        return True


def run_enrich(*args, stderr=None) -> tuple[str, str, int]:
    out, err = StringIO(), stderr if stderr is not None else StringIO()
    try:
        call_command("enrich", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return out.getvalue(), err.getvalue(), exit_.code
    return out.getvalue(), err.getvalue(), 0


@pytest.mark.django_db
def test_on_a_terminal_the_progress_bar_is_drawn_and_not_in_the_error_style():
    ConversationFactory(conversation_name="One")
    ConversationFactory(conversation_name="Two")

    out, err, code = run_enrich("--status", "not_started", "--force-color", stderr=Terminal())

    assert code == 0
    assert "Enriching" in err
    assert "2/2" in err
    assert "2 enriched" in err
    assert DJANGO_ERROR_STYLE not in err
    assert out.startswith("Enriched: 2, Failed: 0, Skipped: 0 (total 2)")


@pytest.mark.django_db
def test_without_a_terminal_there_is_no_progress_bar():
    ConversationFactory()

    _, err, code = run_enrich("--status", "not_started")

    assert code == 0
    assert err == ""


@pytest.mark.django_db
def test_the_failures_are_listed_with_their_errors_up_to_a_limit():
    broken = [
        ConversationFactory(conversation_name=f"Broken {n:02}", document=b"{")
        for n in range(FAILURES_LISTED + 5)
    ]
    ConversationFactory(conversation_name="Fine")

    out, _, code = run_enrich("--status", "not_started")

    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("Enriched: 1, Failed: 25, Skipped: 0 (total 26)")
    assert lines[1] == "Failed (25):"
    listed = lines[2 : 2 + FAILURES_LISTED]
    assert len(listed) == FAILURES_LISTED
    first = broken[0]
    assert listed[0].startswith(f"  {first.conversation_id}  “Broken 00”: Validation failed: ")
    assert "INVALID_JSON_SYNTAX" in listed[0]
    assert lines[2 + FAILURES_LISTED] == "  … and 5 more."
    assert len(lines) == 3 + FAILURES_LISTED


@pytest.mark.django_db
def test_a_background_run_prints_its_page(settings):
    settings.SITE_URL = "https://enrich.example.org/"
    conversation = ConversationFactory()

    out, _, code = run_enrich(str(conversation.pk), "--background", "--detach")

    run = EnrichmentRun.objects.get()
    assert code == 0
    assert f"Its page: https://enrich.example.org/runs/{run.pk}/" in out.splitlines()


@pytest.mark.django_db(transaction=True)
def test_following_a_background_run_ends_with_its_failures(beating_worker):
    ConversationFactory(conversation_name="Good")
    bad = ConversationFactory(conversation_name="Bad", document=b"{")
    answer: dict = {}

    def follow() -> None:
        answer["out"], _, answer["code"] = run_enrich("--status", "not_started", "--background")

    follower = threading.Thread(target=follow)
    follower.start()
    deadline = time.monotonic() + 30
    while not EnrichmentRun.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    lanes.process_run(EnrichmentRun.objects.get().pk)
    follower.join(timeout=30)

    lines = answer["out"].splitlines()
    assert answer["code"] == 1
    assert "Run completed: Enriched: 1, Failed: 1, Skipped: 0 (total 2)" in lines
    assert lines[-2] == "Failed (1):"
    assert lines[-1].startswith(f"  {bad.conversation_id}  “Bad”: Validation failed: ")


@pytest.mark.parametrize(
    ("app", "name"), [("enrichment", "enrich"), ("intake", "import_conversations")]
)
def test_every_argument_has_help(app, name):
    parser = load_command_class(app, name).create_parser("manage.py", name)

    undocumented = [action.dest for action in parser._actions if not action.help]

    assert len(parser._actions) > 10
    assert undocumented == []


def test_the_progress_bar_shows_failures_in_red_only_when_there_are_some():
    from rich.console import Console

    display = ProgressDisplay(StringIO(), 2, enabled=False)

    def rendered() -> str:
        """The counts column as a colour terminal shows it."""
        console = Console(file=StringIO(), force_terminal=True, color_system="standard")
        text = console.render_str(display._fields()["failed_text"], highlight=False)
        with console.capture() as capture:
            console.print(text, end="")
        return capture.get()

    none_failed = rendered()
    display.show(done=2, enriched=1, failed=1, skipped=0, total=2)
    one_failed = rendered()

    assert none_failed == "0 failed"
    assert one_failed == "\x1b[31m1 failed\x1b[0m"
