"""The form of the Generate page: what to generate and how."""

from decimal import Decimal

from django import forms
from django.conf import settings

from conversations.models import EmotionalArc, Persona, PromptTemplate, TrainingTopic

from .jobs import GenerationRequest
from .models import Mode

BY_ARC = ""


class KeysField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj) -> str:
        return obj.name


class GenerateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    personas = KeysField(
        Persona.objects.filter(is_active=True).order_by("name"),
        to_field_name="persona_key",
        label="Personas",
    )
    arcs = KeysField(
        EmotionalArc.objects.filter(is_active=True).order_by("name"),
        to_field_name="arc_key",
        label="Emotional arcs",
    )
    topics = KeysField(
        TrainingTopic.objects.filter(is_active=True).order_by("name"),
        to_field_name="topic_key",
        label="Training topics",
    )
    template = forms.ChoiceField(label="Template", required=False)
    repeat = forms.IntegerField(label="Conversations per combination", min_value=1, initial=1)
    mode = forms.ChoiceField(label="Mode", choices=Mode.choices)
    model = forms.CharField(label="Model", max_length=100)
    max_tokens = forms.IntegerField(label="Max tokens per conversation", min_value=1)
    budget_usd = forms.DecimalField(
        label="Budget (USD)",
        required=False,
        min_value=Decimal(0),
        max_digits=20,
        decimal_places=9,
        help_text="Optional: nothing is created when the estimate is above it.",
    )
    auto_enrich = forms.BooleanField(
        label="Enrich the conversations in the background once generated",
        required=False,
        initial=True,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = PromptTemplate.objects.filter(is_active=True).order_by("name")
        self.fields["template"].choices = [
            (BY_ARC, "By arc (each arc's own template)"),
            *((name, name) for name in names.values_list("name", flat=True)),
        ]
        self.fields["mode"].initial = settings.GENERATION_MODE
        self.fields["model"].initial = settings.GENERATION_MODEL
        self.fields["max_tokens"].initial = settings.GENERATION_MAX_TOKENS

    def pick_fields(self) -> list:
        return [self[name] for name in ("personas", "arcs", "topics")]

    def settings_fields(self) -> list:
        names = ("template", "repeat", "mode", "model", "max_tokens", "budget_usd")
        return [self[name] for name in names]

    def generation_request(self) -> GenerationRequest:
        data = self.cleaned_data
        return GenerationRequest(
            name=data["name"] or "Preview",
            persona_keys=[p.persona_key for p in data["personas"]],
            arc_keys=[a.arc_key for a in data["arcs"]],
            topic_keys=[t.topic_key for t in data["topics"]],
            template_name=data["template"] or None,
            repeat=data["repeat"],
            mode=data["mode"],
            model=data["model"].strip(),
            max_tokens=data["max_tokens"],
            budget_usd=data["budget_usd"],
            auto_enrich=data["auto_enrich"],
        )


class PreviewForm(GenerateForm):
    """The same, for the preview: a name is not needed yet."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
