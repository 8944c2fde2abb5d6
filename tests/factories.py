"""One factory per model, plain defaults."""

import json
import uuid

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    Conversation,
    EmotionalArc,
    Persona,
    ProcessingStatus,
    PromptTemplate,
    TrainingTopic,
)
from core import storage
from enrichment.models import EnrichmentRun, EnrichmentRunItem, RunSource
from enrichment.pipeline.run import enrich_conversations
from training.models import TrainingFile, TrainingFileConversation


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona

    persona_key = factory.Sequence(lambda n: f"persona_{n}")
    name = factory.Sequence(lambda n: f"Jordan Lee {n}")
    archetype = "The Careful Builder"
    demographics = {"age": 41, "gender": "female", "location": "Denver", "family_status": "married"}
    financial_background = "Steady salary, some savings, unsure about investing."


class EmotionalArcFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmotionalArc

    arc_key = factory.Sequence(lambda n: f"worry_to_calm_{n}")
    name = "Worry → Calm"
    starting_emotion = "worry"
    ending_emotion = "calm"


class TrainingTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingTopic

    topic_key = factory.Sequence(lambda n: f"emergency_fund_{n}")
    name = "Building an Emergency Fund"
    category = "savings"
    complexity_level = "beginner"


class PromptTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromptTemplate

    name = factory.Sequence(lambda n: f"Template {n} - Worry → Calm")
    category = "reassurance"
    tier = "template"
    emotional_arc_type = "worry_to_calm"
    suitable_personas = ["careful_builder"]
    suitable_topics = ["emergency_fund"]


def conversation_document(turns: int = 4, **metadata) -> dict:
    """A small valid parsed conversation of our own."""
    roles = ["user", "assistant"]
    return {
        "conversation_metadata": {
            "client_persona": "Jordan Lee - The Careful Builder",
            "session_context": "Jordan wants a safety net before changing jobs.",
            "conversation_phase": "initial_exploration",
            "expected_outcome": "Jordan leaves with a monthly savings target.",
            **metadata,
        },
        "turns": [
            {
                "turn_number": n + 1,
                "role": roles[n % 2],
                "content": f"Turn {n + 1}: a thoughtful message about saving for emergencies.",
                "emotional_context": {
                    "primary_emotion": "worry" if n % 2 == 0 else "calm",
                    "secondary_emotion": "hope",
                    "intensity": 0.6,
                },
            }
            for n in range(turns)
        ],
    }


# A truncated model reply (not parseable JSON): pass as ``document=`` for a conversation
# whose enrichment fails validation with INVALID_JSON_SYNTAX.
TRUNCATED_REPLY = b'{"conversation_metadata": {"client_persona": "Sam Ortiz - The Caut'


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation whose parsed file is stored (pass ``document=None`` for none,
    or ``document=b"..."`` for raw bytes stored as the raw response only)."""

    class Meta:
        model = Conversation

    document = factory.LazyFunction(conversation_document)
    conversation_id = factory.LazyFunction(uuid.uuid4)
    created_by = factory.SubFactory(UserFactory)
    conversation_name = factory.Sequence(lambda n: f"Emergency fund chat {n}")
    turn_count = 4
    processing_status = ProcessingStatus.COMPLETED

    @classmethod
    def _create(cls, model_class, *args, document=None, **kwargs):
        conversation = model_class(*args, **kwargs)
        owner = conversation.owner_segment
        business_id = str(conversation.conversation_id)
        if isinstance(document, bytes):
            conversation.raw_response_path = storage.raw_path(owner, business_id)
            default_storage.save(conversation.raw_response_path, ContentFile(document))
            conversation.raw_response_size = len(document)
            conversation.processing_status = ProcessingStatus.PARSE_FAILED
        elif document is not None:
            content = json.dumps(document, indent=2).encode()
            conversation.file_path = storage.parsed_path(owner, business_id)
            default_storage.save(conversation.file_path, ContentFile(content))
            conversation.file_size = len(content)
            conversation.turn_count = len(document.get("turns") or [])
        conversation.save()
        return conversation


class BatchJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BatchJob

    name = factory.Sequence(lambda n: f"Batch {n}")
    status = BatchJobStatus.COMPLETED
    created_by = factory.SubFactory(UserFactory)
    auto_enrich = False


class BatchItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BatchItem

    batch_job = factory.SubFactory(BatchJobFactory)
    position = factory.Sequence(lambda n: n + 1)
    topic = "Building an Emergency Fund"
    status = BatchItemStatus.COMPLETED
    conversation = factory.SubFactory(
        ConversationFactory, created_by=factory.SelfAttribute("..batch_job.created_by")
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """As intake stores one: a successful item's conversation joins the job's counts."""
        from conversations import counts

        item = super()._create(model_class, *args, **kwargs)
        conversation = item.conversation
        if item.status == BatchItemStatus.COMPLETED and conversation and conversation.is_active:
            already = BatchItem.objects.filter(
                batch_job=item.batch_job,
                conversation=conversation,
                status=BatchItemStatus.COMPLETED,
            ).exclude(pk=item.pk)
            if not already.exists():
                counts.join(item.batch_job, [conversation.settled_status])
        return item


class EnrichmentRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrichmentRun

    created_by = factory.SubFactory(UserFactory)
    source = RunSource.API
    description = factory.Sequence(lambda n: f"Run {n}")


class EnrichmentRunItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrichmentRunItem

    run = factory.SubFactory(EnrichmentRunFactory)
    conversation = factory.SubFactory(
        ConversationFactory, created_by=factory.SelfAttribute("..run.created_by")
    )
    position = factory.Sequence(lambda n: n + 1)


def a_run(conversation_pks, *, job: BatchJob | None = None, **kwargs) -> EnrichmentRun:
    """A background run stored the way every entry point stores one (not processed);
    ``job`` makes it a run over that batch job."""
    from enrichment.runs.lifecycle import start_run

    kwargs.setdefault("user", None)
    kwargs.setdefault("source", "cli")
    return start_run(list(conversation_pks), batch_job=job, **kwargs).run


def enriched_conversation(**fields) -> Conversation:
    """A conversation enriched by the real runner (completed, with its enriched file)."""
    conversation = ConversationFactory(**fields)
    [outcome] = enrich_conversations([conversation.pk])
    assert outcome.status == "enriched", outcome.error
    conversation.refresh_from_db()
    return conversation


class TrainingFileFactory(factory.django.DjangoModelFactory):
    """A training file row (no members, no files: build it through the services)."""

    class Meta:
        model = TrainingFile

    name = factory.Sequence(lambda n: f"Training file {n}")
    created_by = factory.SubFactory(UserFactory)
    status = "active"


class TrainingFileConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingFileConversation

    training_file = factory.SubFactory(TrainingFileFactory)
    conversation = factory.SubFactory(
        ConversationFactory, created_by=factory.SelfAttribute("..training_file.created_by")
    )
    added_by = factory.SelfAttribute("training_file.created_by")
