"""Scaffolding in the admin: personas, arcs, topics and templates."""

from django.contrib import admin

from conversations.models import EmotionalArc, Persona, PromptTemplate, TrainingTopic


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "persona_key", "archetype", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "persona_key", "archetype"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(EmotionalArc)
class EmotionalArcAdmin(admin.ModelAdmin):
    list_display = ["name", "arc_key", "starting_emotion", "ending_emotion", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "arc_key", "starting_emotion", "ending_emotion"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(TrainingTopic)
class TrainingTopicAdmin(admin.ModelAdmin):
    list_display = ["name", "topic_key", "category", "complexity_level", "is_active"]
    list_filter = ["is_active", "category", "complexity_level"]
    search_fields = ["name", "topic_key", "category"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "tier", "emotional_arc_type", "is_active"]
    list_filter = ["is_active", "tier", "category"]
    search_fields = ["name", "category", "emotional_arc_type", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "emotional_arc_type", "category", "tier", "is_active"]}),
        (
            "Prompt",
            {
                "fields": ["template_text", "variables"],
                "description": "{{placeholder}} variables come from the generation catalogue "
                "(persona_…, emotional_arc_…/starting_…/ending_…, topic_…, target_turn_count); "
                "an unknown or empty one stops generation with its name.",
            },
        ),
        (
            "Guidance",
            {
                "fields": [
                    "description",
                    "structure",
                    "tone",
                    "style_notes",
                    "quality_threshold",
                    "required_elements",
                    "methodology_principles",
                    "complexity_baseline",
                    "suitable_personas",
                    "suitable_topics",
                ]
            },
        ),
        ("Other columns", {"fields": ["data", "id", "created_at", "updated_at"]}),
    ]
