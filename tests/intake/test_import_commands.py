import json
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection

from conversations.models import (
    BatchItem,
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
from tests.factories import UserFactory, conversation_document

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_scaffolding_reports_the_shared_counts_and_is_idempotent(shared_data):
    files = sorted((shared_data / "scaffolding").glob("*.ndjson"))

    first = run("import_scaffolding", *files)
    second = run("import_scaffolding", *files)

    assert first.splitlines() == [
        "emotional_arcs: 7 rows (7 created, 0 updated, 0 unchanged)",
        "personas: 3 rows (3 created, 0 updated, 0 unchanged)",
        "prompt_templates: 2 rows (2 created, 0 updated, 0 unchanged)",
        "training_topics: 65 rows (65 created, 0 updated, 0 unchanged)",
    ]
    assert second.splitlines() == [
        "emotional_arcs: 7 rows (0 created, 0 updated, 7 unchanged)",
        "personas: 3 rows (0 created, 0 updated, 3 unchanged)",
        "prompt_templates: 2 rows (0 created, 0 updated, 2 unchanged)",
        "training_topics: 65 rows (0 created, 0 updated, 65 unchanged)",
    ]
    assert (
        Persona.objects.count(),
        EmotionalArc.objects.count(),
        TrainingTopic.objects.count(),
        PromptTemplate.objects.count(),
    ) == (3, 7, 65, 2)


def write(path, *rows):
    path.write_text("\n".join(rows) + "\n")
    return path


def test_import_scaffolding_updates_changed_rows_by_natural_key(tmp_path):
    first = write(tmp_path / "personas.ndjson", '{"persona_key": "saver", "name": "Ann"}')
    run("import_scaffolding", first)
    again = write(tmp_path / "personas.ndjson", '{"persona_key": "saver", "name": "Ann B"}')

    output = run("import_scaffolding", again)

    assert output.strip() == "personas: 1 rows (0 created, 1 updated, 0 unchanged)"
    assert Persona.objects.get().name == "Ann B"


def test_import_scaffolding_keeps_unmapped_columns_in_data(tmp_path):
    path = write(
        tmp_path / "training_topics.ndjson",
        '{"topic_key": "hsa", "name": "HSA", "key_concepts": ["tax"], "complexity_level": "x"}',
    )

    run("import_scaffolding", path)

    topic = TrainingTopic.objects.get()
    assert topic.complexity_level == "x"
    assert topic.data == {"key_concepts": ["tax"]}


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        (
            "personas.ndjson",
            ['{"persona_key": "a", "name": "A"}', "{oops"],
            "line 2: not valid JSON",
        ),
        ("personas.ndjson", ["[1, 2]"], "line 1: expected a JSON object"),
        ("personas.ndjson", ['{"name": "A"}'], "line 1: missing 'persona_key'"),
        ("widgets.ndjson", ["{}"], "unknown scaffolding kind 'widgets'"),
        (
            "personas.ndjson",
            ['{"persona_key": "a", "name": "A"}', '{"persona_key": "a", "name": "B"}'],
            "line 2: persona_key 'a' repeats line 1",
        ),
    ],
)
def test_import_scaffolding_rejects_bad_input_naming_file_and_line(tmp_path, name, lines, message):
    good = write(tmp_path / "emotional_arcs.ndjson", '{"arc_key": "x", "name": "X"}')
    bad = write(tmp_path / name, *lines)

    with pytest.raises(CommandError) as error:
        run("import_scaffolding", good, bad)

    assert str(bad) in str(error.value)
    assert message in str(error.value)
    # All or nothing: the good file was not imported either.
    assert EmotionalArc.objects.count() == 0
    assert Persona.objects.count() == 0


def test_import_scaffolding_names_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="personas.ndjson: no such file"):
        run("import_scaffolding", tmp_path / "personas.ndjson")


def test_import_conversations_imports_the_shared_files_into_one_completed_job(shared_data):
    owner = UserFactory(username="analyst")
    run("import_scaffolding", *sorted((shared_data / "scaffolding").glob("*.ndjson")))
    files = sorted((shared_data / "conversations/raw").glob("*.json"))

    output = run("import_conversations", *files, "--owner", "analyst", "--batch-name", "Shared")

    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["imported"] == 4
    job = BatchJob.objects.get(pk=summary["batchJobId"])
    assert (job.name, job.status, job.created_by) == ("Shared", BatchJobStatus.COMPLETED, owner)
    assert (job.total_items, job.completed_items, job.successful_items) == (4, 4, 4)
    items = list(job.items.order_by("position").select_related("conversation"))
    assert [str(i.conversation.conversation_id) for i in items] == summary["conversationIds"]
    assert {i.status for i in items} == {BatchItemStatus.COMPLETED}
    by_name = {i.conversation.conversation_name: i.conversation for i in items}
    truncated = by_name["Truncated credit card debt"]
    assert truncated.processing_status == ProcessingStatus.PARSE_FAILED
    assert (
        default_storage.open(truncated.raw_response_path).read()
        == (shared_data / "conversations/raw/truncated-credit-card-debt.json").read_bytes()
    )
    parsed = items[2].conversation  # shame-to-acceptance-529.parsed.json
    assert parsed.persona.persona_key == "pragmatic_optimist"
    assert parsed.emotional_arc.arc_key == "shame_to_acceptance"
    assert parsed.training_topic.topic_key == "grandparent_529"
    assert parsed.template.name == "Template - Shame → Acceptance - Financial Trauma"
    assert items[2].topic == "Grandparent 529 Contributions"
    assert parsed.turn_count == 5
    assert {c.enrichment_status for c in by_name.values()} == {EnrichmentStatus.NOT_STARTED}


def test_import_conversations_links_a_template_by_name(tmp_path):
    UserFactory(username="owner")
    PromptTemplate.objects.create(name="Calm budgeting", emotional_arc_type="other")
    document = conversation_document()
    document["input_parameters"] = {"template_name": "Calm budgeting"}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(document))

    run("import_conversations", path, "--owner", "owner")

    assert Conversation.objects.get().template.name == "Calm budgeting"


def test_import_conversations_with_a_missing_file_imports_nothing(tmp_path):
    UserFactory(username="owner")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(conversation_document()))

    with pytest.raises(CommandError, match="missing.json: no such file"):
        run("import_conversations", good, tmp_path / "missing.json", "--owner", "owner")

    assert Conversation.objects.count() == 0
    assert BatchJob.objects.count() == 0
    assert BatchItem.objects.count() == 0


def test_import_conversations_requires_a_known_owner(tmp_path):
    with pytest.raises(CommandError, match="--owner 'nobody': no such user"):
        run("import_conversations", tmp_path / "x.json", "--owner", "nobody")


def test_import_conversations_removes_written_files_when_the_import_fails(tmp_path, media_root):
    UserFactory(username="owner")
    paths = []
    for n in range(2):
        path = tmp_path / f"c{n}.json"
        path.write_text(json.dumps(conversation_document(session_context=f"Case {n}.")))
        paths.append(path)
    # The database refuses the items after both files were stored.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_items() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'database went away'; END $$; "
            "CREATE TRIGGER refuse_items BEFORE INSERT ON batch_items "
            "FOR EACH ROW EXECUTE FUNCTION refuse_items()"
        )

    with pytest.raises(DatabaseError, match="database went away"):
        run("import_conversations", *paths, "--owner", "owner")

    assert Conversation.objects.count() == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []
