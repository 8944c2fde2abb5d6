"""Request validation and response shapes of the generation API (camelCase, closed
bodies: a key the API does not know is an error)."""

from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.core.validators import RegexValidator
from rest_framework import serializers

from enrichment.serializers import RequestBodySerializer, StrictBooleanField
from intake.schema import NAME_PATTERN
from intake.serializers import TextField

from .jobs import GenerationRequest
from .models import Mode

MAX_KEYS = 1000
MAX_REPEAT = 10_000
MAX_TOKENS = 2_147_483_647
NANO = Decimal("0.000000001")
# Text that fits a text column: anything but NUL.
NO_NUL = r"^[^\u0000]*$"


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


class MoneyField(serializers.DecimalField):
    """USD as a JSON number, to the nanodollar: finer amounts are rounded down (a budget
    never grows by rounding)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_digits=20, decimal_places=9, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            amount = Decimal(repr(data)).quantize(NANO, rounding=ROUND_FLOOR)
        except InvalidOperation:
            self.fail("invalid")
        return super().to_internal_value(amount)


def _keys(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=TextField(max_length=255),
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
    templateName = TextField(  # noqa: N815
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
    model = TextField(required=False, max_length=100, help_text="Default: GENERATION_MODEL.")
    maxTokens = StrictIntegerField(  # noqa: N815
        required=False,
        min_value=1,
        max_value=MAX_TOKENS,
        help_text="Default: GENERATION_MAX_TOKENS.",
    )
    temperature = StrictFloatField(required=False, allow_null=True, min_value=0, max_value=1)
    budgetUsd = MoneyField(  # noqa: N815
        required=False,
        allow_null=True,
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


def _keys_schema(description: str) -> dict:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_KEYS,
        "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NO_NUL},
        "description": description,
    }


# The request body as JSON Schema, by hand: money is a JSON number (a serializer's decimal
# is documented as a string), text fields are never blank.
GENERATION_REQUEST = {
    "type": "object",
    "required": ["name", "personaKeys", "emotionalArcKeys", "trainingTopicKeys"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 255,
            "pattern": NAME_PATTERN,
            "description": "The job's name (the preview does without).",
        },
        "personaKeys": _keys_schema("Persona keys."),
        "emotionalArcKeys": _keys_schema("Emotional arc keys."),
        "trainingTopicKeys": _keys_schema("Training topic keys."),
        "templateName": {
            "type": "string",
            "nullable": True,
            "minLength": 1,
            "maxLength": 255,
            "pattern": NO_NUL,
            "description": "One template for every item (default: each arc's active one).",
        },
        "repeat": {"type": "integer", "minimum": 1, "maximum": MAX_REPEAT, "default": 1},
        "mode": {
            "type": "string",
            "enum": Mode.values,
            "description": "batch (half price, within 24 hours) or realtime "
            "(default: GENERATION_MODE).",
        },
        "model": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": NO_NUL,
            "description": "Default: GENERATION_MODEL; it needs a price (GENERATION_PRICES).",
        },
        "maxTokens": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TOKENS,
            "description": "Default: GENERATION_MAX_TOKENS.",
        },
        "temperature": {"type": "number", "nullable": True, "minimum": 0, "maximum": 1},
        "budgetUsd": {
            "type": "number",
            "nullable": True,
            "minimum": 0,
            "maximum": 99_999_999_999,
            "description": "USD (finer than 1e-9: rounded down). Nothing is created when "
            "the estimate is above it.",
        },
        "autoEnrich": {"type": "boolean", "default": True},
    },
}
