"""The scaffolding conversations are generated from: personas, emotional arcs, training
topics and prompt templates (tables named as in the original system)."""

import uuid

from django.db import models


class ScaffoldingRow(models.Model):
    """Columns every scaffolding table shares; the rest of a row stays in ``data``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Persona(ScaffoldingRow):
    persona_key = models.SlugField(max_length=100, unique=True)
    archetype = models.CharField(max_length=255, blank=True)
    demographics = models.JSONField(null=True, blank=True)
    financial_background = models.TextField(blank=True)

    class Meta:
        db_table = "personas"
        ordering = ["name"]


class EmotionalArc(ScaffoldingRow):
    arc_key = models.SlugField(max_length=100, unique=True)
    starting_emotion = models.CharField(max_length=100, blank=True)
    ending_emotion = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "emotional_arcs"
        ordering = ["name"]


class TrainingTopic(ScaffoldingRow):
    topic_key = models.SlugField(max_length=100, unique=True)
    category = models.CharField(max_length=100, blank=True)
    complexity_level = models.CharField(max_length=50, blank=True)

    class Meta:
        db_table = "training_topics"
        ordering = ["name"]


class PromptTemplate(ScaffoldingRow):
    name = models.CharField(max_length=255, db_column="template_name", unique=True)
    category = models.CharField(max_length=100, blank=True)
    tier = models.CharField(max_length=20, blank=True)
    emotional_arc_type = models.CharField(max_length=100, blank=True, db_index=True)
    suitable_personas = models.JSONField(default=list, blank=True)
    suitable_topics = models.JSONField(default=list, blank=True)
    # The prompt, with ``{{placeholder}}`` variables from the generation catalogue
    # (generation/catalogue.py), and what the original kept beside it.
    template_text = models.TextField(blank=True)
    description = models.TextField(blank=True)
    variables = models.JSONField(
        default=dict, blank=True, help_text='As declared: {"required": [...], "optional": [...]}'
    )
    structure = models.TextField(blank=True)
    tone = models.TextField(blank=True)
    style_notes = models.TextField(blank=True)
    quality_threshold = models.FloatField(null=True, blank=True)
    required_elements = models.JSONField(default=list, blank=True)
    methodology_principles = models.JSONField(default=list, blank=True)
    complexity_baseline = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        db_table = "prompt_templates"
        ordering = ["name"]

    @property
    def template_name(self) -> str:
        return self.name
