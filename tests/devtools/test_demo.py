import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from conversations.models import (
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    Conversation,
    EmotionalArc,
    EnrichmentStatus,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    TrainingTopic,
)
from devtools.demo.seed import seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def development_setup(settings):
    """As bin/demo runs it: debug on (with debug off the demo users are refused)."""
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def scaffolding_counts() -> tuple[int, int, int, int]:
    return (
        Persona.objects.count(),
        EmotionalArc.objects.count(),
        TrainingTopic.objects.count(),
        PromptTemplate.objects.count(),
    )


def test_seed_demo_creates_the_demo_users():
    result = seed_demo()

    demo = get_user_model().objects.get(username="demo")
    analyst = get_user_model().objects.get(username="analyst")
    assert result.created_users == ["demo", "analyst"]
    assert (demo.is_staff, demo.is_superuser, demo.is_active) == (True, True, True)
    assert demo.check_password("demo-password")
    assert demo.user_permissions.filter(codename="enrich_conversation").exists()
    assert (analyst.is_staff, analyst.is_superuser, analyst.is_active) == (False, False, True)
    assert analyst.check_password("analyst-password")
    assert analyst.has_perm("conversations.enrich_conversation")


def test_seed_demo_imports_the_demo_scaffolding():
    result = seed_demo()

    assert scaffolding_counts() == (3, 4, 6, 3)
    assert [(c.kind, c.created) for c in result.scaffolding] == [
        ("personas", 3),
        ("emotional_arcs", 4),
        ("training_topics", 6),
        ("prompt_templates", 3),
    ]


def test_seed_demo_creates_a_completed_demo_batch_job():
    seed_demo()

    job = BatchJob.objects.get(created_by__username="demo")
    items = list(job.items.select_related("conversation"))
    conversations = [item.conversation for item in items]
    assert (job.status, job.total_items, job.completed_items) == (BatchJobStatus.COMPLETED, 12, 12)
    assert [item.position for item in items] == list(range(1, 13))
    assert {item.status for item in items} == {BatchItemStatus.COMPLETED}
    assert {c.enrichment_status for c in conversations} == {EnrichmentStatus.NOT_STARTED}
    assert {c.created_by.username for c in conversations} == {"demo"}
    assert [c.processing_status for c in conversations].count(ProcessingStatus.PARSE_FAILED) == 1
    for conversation in conversations:
        assert default_storage.exists(conversation.raw_response_path)


def test_seed_demo_links_parsed_conversations_to_their_scaffolding():
    seed_demo()

    parsed = Conversation.objects.filter(
        created_by__username="demo", processing_status=ProcessingStatus.COMPLETED
    ).select_related("persona", "emotional_arc", "training_topic", "template")
    assert parsed.count() == 11
    for conversation in parsed:
        with default_storage.open(conversation.file_path) as handle:
            document = json.load(handle)
        params = document["input_parameters"]
        assert params["persona_id"] == str(conversation.persona.pk)
        assert params["emotional_arc_id"] == str(conversation.emotional_arc.pk)
        assert params["training_topic_id"] == str(conversation.training_topic.pk)
        assert conversation.turn_count == len(document["turns"])
        assert 6 <= conversation.turn_count <= 10
        if conversation.template is not None:
            assert conversation.template.emotional_arc_type == conversation.emotional_arc.arc_key


def test_seed_demo_gives_the_analyst_a_job_of_their_own():
    seed_demo()

    analyst = get_user_model().objects.get(username="analyst")
    job = BatchJob.objects.get(created_by=analyst)
    assert (job.status, job.total_items) == (BatchJobStatus.COMPLETED, 3)
    assert list(BatchJob.objects.visible_to(analyst)) == [job]
    assert set(Conversation.objects.visible_to(analyst)) == {
        item.conversation for item in job.items.all()
    }
    assert {c.processing_status for c in Conversation.objects.visible_to(analyst)} == {
        ProcessingStatus.COMPLETED
    }


def test_seed_demo_twice_creates_nothing_new():
    seed_demo()

    result = seed_demo()

    assert result.created_users == []
    assert result.imports == []
    assert [(c.created, c.updated) for c in result.scaffolding] == [(0, 0)] * 4
    assert get_user_model().objects.count() == 2
    assert scaffolding_counts() == (3, 4, 6, 3)
    assert BatchJob.objects.count() == 2
    assert Conversation.objects.count() == 15


def test_seed_demo_with_force_adds_another_demo_batch_job():
    seed_demo()

    result = seed_demo(force=True, conversations=4)

    assert [job.name for job in result.batch_jobs] == ["Demo: financial-planning conversations #2"]
    assert BatchJob.objects.filter(created_by__username="demo").count() == 2
    assert BatchJob.objects.filter(created_by__username="analyst").count() == 1
    assert result.batch_jobs[0].items.count() == 4
    assert scaffolding_counts() == (3, 4, 6, 3)


def test_seed_demo_puts_a_changed_demo_login_back():
    seed_demo()
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("something-else")
    demo.is_staff = False
    demo.save()

    seed_demo()

    demo.refresh_from_db()
    assert demo.check_password("demo-password")
    assert demo.is_staff is True


def test_seed_demo_needs_room_for_the_broken_conversations():
    with pytest.raises(ValueError, match="at least 3"):
        seed_demo(conversations=2)

    assert BatchJob.objects.count() == 0


def test_seed_demo_reports_what_it_did():
    out = io.StringIO()

    seed_demo(stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[:6] == [
        "user demo: created",
        "user analyst: created",
        "personas: 3 rows (3 created, 0 updated, 0 unchanged)",
        "emotional_arcs: 4 rows (4 created, 0 updated, 0 unchanged)",
        "training_topics: 6 rows (6 created, 0 updated, 0 unchanged)",
        "prompt_templates: 3 rows (3 created, 0 updated, 0 unchanged)",
    ]
    assert len(lines) == 8


def test_demo_batch_has_exactly_one_invalid_parsed_conversation():
    validate = pytest.importorskip("enrichment.pipeline.validate").validate_conversation
    seed_demo()

    blockers = []
    for conversation in Conversation.objects.filter(created_by__username="demo"):
        path = conversation.file_path or conversation.raw_response_path
        with default_storage.open(path) as handle:
            _, report = validate(
                handle.read(),
                conversation_id=str(conversation.conversation_id),
                validated_at="2025-01-01T00:00:00Z",
            )
        blockers.append(sorted(issue["code"] for issue in report["blockers"]))

    assert sorted(blockers) == [[]] * 10 + [
        ["INVALID_JSON_SYNTAX"],
        ["INVALID_ROLE", "MISSING_INTENSITY"],
    ]


def test_seed_demo_command_prints_the_demo_login():
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    job = BatchJob.objects.get(created_by__username="demo")
    output = out.getvalue()
    assert f"  http://127.0.0.1:8000/batch-jobs/{job.pk}/\n" in output
    assert output.endswith(
        "Demo ready. Start the site (python manage.py runserver 127.0.0.1:8000), then:\n"
        "  URL:      http://127.0.0.1:8000/\n"
        "  Username: demo\n"
        "  Password: demo-password\n"
        "  (also analyst / analyst-password: not staff, sees only their own batch job)\n"
    )


def test_seed_demo_served_by_bin_demo_says_where_on_the_site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8301"
    out = io.StringIO()

    call_command("seed_demo", "--served", stdout=out)

    job = BatchJob.objects.get(created_by__username="demo")
    output = out.getvalue()
    assert f"  http://127.0.0.1:8301/batch-jobs/{job.pk}/\n" in output
    assert "Demo ready, served at http://127.0.0.1:8301/\n  URL:      http://127.0.0.1:8301/\n" in (
        output
    )
    assert "runserver" not in output


def test_seed_demo_command_force_adds_a_job():
    call_command("seed_demo", stdout=io.StringIO())

    call_command("seed_demo", "--force", "--conversations", "3", stdout=io.StringIO())

    assert BatchJob.objects.filter(created_by__username="demo").count() == 2


def test_seed_demo_command_rejects_too_few_conversations():
    with pytest.raises(CommandError, match="--conversations must be at least 3"):
        call_command("seed_demo", "--conversations", "2", stdout=io.StringIO())
