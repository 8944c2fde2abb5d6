"""``manage.py training_file`` with the fine-tuning choices: approved only, a minimum
quality tier, a train/validation split, and the export of one split."""

import json
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import enriched_conversation
from training.exports import split_of
from training.models import TrainingFile

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("training_file", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_with_a_tier_and_a_split_then_export_the_validation_split(tmp_path):
    kept = [
        enriched_conversation(conversation_id=uuid.UUID(int=n * 7919 + 1), quality_score=4.6)
        for n in (3, 4, 7)
    ]
    weak = enriched_conversation(quality_score=4.0)
    validation = [c for c in kept if split_of(c.conversation_id, 0.5) == "validation"]
    assert 0 < len(validation) < len(kept)

    with pytest.raises(CommandError, match="below the minimum quality tier"):
        run("create", "Refused", str(weak.pk), "--min-quality-tier", "seed_dataset")
    run(
        "create",
        "Seed split",
        *[str(c.pk) for c in kept],
        "--min-quality-tier",
        "seed_dataset",
        "--validation-fraction",
        "0.5",
    )
    training_file = TrainingFile.objects.get()
    target = tmp_path / "validation.jsonl"
    run(
        "export",
        str(training_file.pk),
        "--format",
        "jsonl",
        "--split",
        "validation",
        "-o",
        str(target),
    )

    assert (training_file.min_quality_tier, training_file.validation_fraction) == (
        "seed_dataset",
        0.5,
    )
    lines = [json.loads(line) for line in target.read_text().split("\n")]
    assert lines[0]["_meta"]["split"] == "validation"
    assert {line["conversation_id"] for line in lines[1:]} == {
        str(c.conversation_id) for c in validation
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validation-fraction", "1"], "greater than 0 and less than 1"),
        (["--min-quality-tier", "gold"], "invalid choice"),
    ],
)
def test_bad_choices_are_clear_errors(args, message):
    conversation = enriched_conversation()

    with pytest.raises(CommandError, match=message):
        run("create", "Bad", str(conversation.pk), *args)

    assert not TrainingFile.objects.exists()


def test_exporting_a_split_of_a_file_without_one_is_an_error():
    run("create", "Plain", str(enriched_conversation().pk))

    with pytest.raises(CommandError, match="has no train/validation split"):
        run("export", str(TrainingFile.objects.get().pk), "--split", "train", "-o", "-")
