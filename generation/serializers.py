"""Request validation and response shapes of the generation API (camelCase, closed
bodies: a key the API does not know is an error)."""

from decimal import Decimal

from django.core.validators import RegexValidator
from rest_framework import serializers

from enrichment.serializers import RequestBodySerializer, StrictBooleanField, StrictCharField
from intake.schema import NAME_PATTERN
from intake.serializers import TextField

from .jobs import GenerationRequest
from .models import Mode

MAX_KEYS = 1000
MAX_REPEAT = 10_000


class StrictIntegerField(serializers.IntegerField):
    """Only JSON whole numbers: "3", 3.5 and true are wrong types."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictNumberMixin:
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(StrictNumberMixin, serializers.FloatField):
    pass


class StrictDecimalField(StrictNumberMixin, serializers.DecimalField):
    pass


def _keys(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=255, trim_whitespace=False),
        allow_empty=False,
        min_length=1,
        max_length=MAX_KEYS,
        help_text=help_text,
    )


class GenerationRequestSerializer(RequestBodySerializer):
    """``POST /api/generation-jobs`` (and its preview, where ``name`` may be left out)."""

    name = TextField(
        max_length=255,
        validators=[RegexValidator(NAME_PATTERN, "Give the job a name (not only spaces).")],
        help_text="What the job is called on every page.",
    )
    personaKeys = _keys("Persona keys.")  # noqa: N815
    emotionalArcKeys = _keys("Emotional arc keys.")  # noqa: N815
    trainingTopicKeys = _keys("Training topic keys.")  # noqa: N815
    templateName = StrictCharField(  # noqa: N815
        required=False,
        allow_null=True,
        max_length=255,
        help_text="The template for every item (default: each arc's active template).",
    )
    repeat = StrictIntegerField(
        required=False,
        default=1,
        min_value=1,
        max_value=MAX_REPEAT,
        help_text="Conversations per persona × arc × topic.",
    )
    mode = serializers.ChoiceField(
        choices=Mode.choices,
        required=False,
        help_text="batch (half price, within 24 hours) or realtime (default: GENERATION_MODE).",
    )
    model = StrictCharField(required=False, max_length=100, help_text="Default: GENERATION_MODEL.")
    maxTokens = StrictIntegerField(  # noqa: N815
        required=False, min_value=1, help_text="Default: GENERATION_MAX_TOKENS."
    )
    temperature = StrictFloatField(required=False, allow_null=True, min_value=0, max_value=1)
    budgetUsd = StrictDecimalField(  # noqa: N815
        required=False,
        allow_null=True,
        max_digits=20,
        decimal_places=9,
        min_value=Decimal(0),
        help_text="Nothing is created when the estimate is above it; submission pauses "
        "before the cost would pass it.",
    )
    autoEnrich = StrictBooleanField(  # noqa: N815
        required=False,
        default=True,
        help_text="Enrich the conversations in the background once the job has ended.",
    )

    def __init__(self, *args, preview: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if preview:
            self.fields["name"].required = False

    def generation_request(self) -> GenerationRequest:
        data = self.validated_data
        return GenerationRequest(
            name=data.get("name", "Preview"),
            persona_keys=data["personaKeys"],
            arc_keys=data["emotionalArcKeys"],
            topic_keys=data["trainingTopicKeys"],
            template_name=data.get("templateName") or None,
            repeat=data["repeat"],
            mode=data.get("mode"),
            model=data.get("model") or None,
            max_tokens=data.get("maxTokens"),
            temperature=data.get("temperature"),
            budget_usd=data.get("budgetUsd"),
            auto_enrich=data["autoEnrich"],
        )


class PreviewPromptSerializer(serializers.Serializer):
    personaKey = serializers.CharField()  # noqa: N815
    emotionalArcKey = serializers.CharField()  # noqa: N815
    trainingTopicKey = serializers.CharField()  # noqa: N815
    templateName = serializers.CharField()  # noqa: N815
    system = serializers.CharField(help_text="Sent exactly as the system prompt.")
    prompt = serializers.CharField(help_text="The user message, every placeholder filled.")


class ProblemSerializer(serializers.Serializer):
    message = serializers.CharField()
    personaKey = serializers.CharField(required=False)  # noqa: N815
    emotionalArcKey = serializers.CharField(required=False)  # noqa: N815
    trainingTopicKey = serializers.CharField(required=False)  # noqa: N815
    templateName = serializers.CharField(required=False)  # noqa: N815
    placeholder = serializers.CharField(required=False)


class EstimateSerializer(serializers.Serializer):
    inputTokens = serializers.IntegerField()  # noqa: N815
    outputTokens = serializers.IntegerField()  # noqa: N815
    costUsd = serializers.FloatField(help_text="USD, for the chosen mode.")  # noqa: N815
    costUsdBatch = serializers.FloatField()  # noqa: N815
    costUsdRealtime = serializers.FloatField()  # noqa: N815


class PreviewResponseSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="persona × arc × topic × repeat.")
    prompts = PreviewPromptSerializer(many=True, help_text="The first few, as they are sent.")
    problems = ProblemSerializer(many=True)
    estimate = EstimateSerializer()
