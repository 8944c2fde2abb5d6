import pytest
from django.db import IntegrityError, transaction

from conversations.models import BatchItem, BatchJob, Conversation, EnrichmentStatus
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EmotionalArcFactory,
    EnrichmentRunFactory,
    EnrichmentRunItemFactory,
    PersonaFactory,
    PromptTemplateFactory,
    TrainingTopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def rejected(queryset, **values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    "factory",
    [
        UserFactory,
        PersonaFactory,
        EmotionalArcFactory,
        TrainingTopicFactory,
        PromptTemplateFactory,
        ConversationFactory,
        BatchJobFactory,
        BatchItemFactory,
        EnrichmentRunFactory,
        EnrichmentRunItemFactory,
    ],
)
def test_every_factory_builds_a_saved_row(factory):
    instance = factory()

    assert type(instance).objects.filter(pk=instance.pk).exists()


@pytest.mark.parametrize(
    ("model_factory", "field", "value"),
    [
        (ConversationFactory, "enrichment_status", "validating"),
        (ConversationFactory, "processing_status", "whatever"),
        (ConversationFactory, "tier", "gold"),
        (ConversationFactory, "enrichment_error_category", "cosmic_rays"),
        (ConversationFactory, "quality_score", 7),
        (BatchJobFactory, "status", "done"),
        (BatchJobFactory, "priority", "urgent"),
        (BatchItemFactory, "status", "skipped"),
        (BatchItemFactory, "position", 0),
        (EnrichmentRunFactory, "status", "paused"),
        (EnrichmentRunFactory, "source", "email"),
        (EnrichmentRunItemFactory, "outcome", "maybe"),
    ],
)
def test_the_database_rejects_illegal_values(model_factory, field, value):
    instance = model_factory()

    assert rejected(type(instance).objects.filter(pk=instance.pk), **{field: value})


def test_every_enrichment_status_including_enrichment_failed_is_legal():
    conversation = ConversationFactory()

    for status in EnrichmentStatus.values:
        assert not rejected(
            Conversation.objects.filter(pk=conversation.pk), enrichment_status=status
        )


def test_business_conversation_id_is_unique():
    first = ConversationFactory()

    with pytest.raises(IntegrityError):
        ConversationFactory(conversation_id=first.conversation_id)


def test_item_positions_are_unique_within_a_job():
    item = BatchItemFactory(position=1)

    with pytest.raises(IntegrityError):
        BatchItemFactory(batch_job=item.batch_job, position=1)


def test_deleting_a_job_deletes_its_items_but_keeps_conversations():
    item = BatchItemFactory()

    BatchJob.objects.filter(pk=item.batch_job_id).delete()

    assert not BatchItem.objects.exists()
    assert Conversation.objects.filter(pk=item.conversation_id).exists()


def test_visible_to_shows_owners_their_rows_and_staff_everything():
    owner, other, staff = UserFactory(), UserFactory(), UserFactory(is_staff=True)
    mine = ConversationFactory(created_by=owner, document=None)
    ConversationFactory(created_by=other, document=None)
    system = ConversationFactory(created_by=None, document=None)

    assert list(Conversation.objects.visible_to(owner)) == [mine]
    assert Conversation.objects.visible_to(staff).count() == 3
    assert system.owner_segment == "00000000-0000-0000-0000-000000000000"


def test_with_ids_matches_either_id_form():
    conversation = ConversationFactory(document=None)

    by_row = Conversation.objects.with_ids([conversation.pk]).get()
    by_business = Conversation.objects.with_ids([str(conversation.conversation_id)]).get()

    assert by_row == by_business == conversation


def test_a_runs_counts_cannot_exceed_its_total():
    run = EnrichmentRunFactory(total=2)

    assert rejected(type(run).objects.filter(pk=run.pk), enriched=2, failed=1)
