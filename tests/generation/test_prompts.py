"""Prompts from the catalogue: the original's real templates and scaffolding (whose quirks
are named, not sent), and our own rows."""

import re

import pytest

from conversations.imports import import_scaffolding
from conversations.models import EmotionalArc, Persona, PromptTemplate, TrainingTopic
from devtools.demo.generator import scaffolding_paths
from generation import catalogue, prompts
from tests.factories import (
    EmotionalArcFactory,
    PersonaFactory,
    PromptTemplateFactory,
    TrainingTopicFactory,
)

pytestmark = pytest.mark.django_db
SYSTEM = "You are Elena, a financial planner."
UNRESOLVABLE = {
    "persona_anxiety_triggers",
    "persona_partnership_context",
    "persona_loss_context",
    "topic_security_indicators",
    "topic_both_and_solutions",
    "topic_crisis_timeline",
    "topic_immediate_actions",
    "topic_prioritization_framework",
    "topic_values_framing",
}


@pytest.fixture
def original(shared_data):
    import_scaffolding(
        [
            *(
                shared_data / "scaffolding" / f"{kind}.ndjson"
                for kind in ("personas", "emotional_arcs", "training_topics")
            ),
            shared_data / "generation" / "prompt_templates.ndjson",
        ]
    )


def test_the_confusion_template_renders_whole_from_the_real_scaffolding(original):
    plan = prompts.plan(
        ["overwhelmed_avoider"], ["confusion_to_clarity"], ["hsa_vs_fsa"], system=SYSTEM
    )

    assert plan.problems == []
    (prompt,) = plan.prompts
    assert prompt.template.name == "Template - Confusion → Clarity - Education Focus"
    assert "{{" not in prompt.text and "}}" not in prompt.text
    assert "**Client Persona:** Marcus Chen - The Overwhelmed Avoider" in prompt.text
    # Lists alone on their line become one "- item" line each, never "['a', 'b']".
    assert "\n- Should I choose an HSA or FSA at work?\n" in prompt.text
    assert "['" not in prompt.text
    assert "Age 37, male, Urban/Suburban, single or married without kids" in prompt.text
    assert 3 <= prompt.target_turn_count <= 5
    assert prompt.system == SYSTEM


def test_every_unresolvable_placeholder_of_the_real_templates_is_named(original):
    arcs = list(EmotionalArc.objects.values_list("arc_key", flat=True))
    templates = PromptTemplate.objects.values_list("name", flat=True)

    named = set()
    for name in templates:
        plan = prompts.plan(
            ["anxious_planner"], arcs[:1], ["hsa_vs_fsa"], system=SYSTEM, template_name=name
        )
        named |= {p.placeholder for p in plan.problems}
        for problem in plan.problems:
            assert problem.template_name == name
            assert f"{{{{{problem.placeholder}}}}}" in problem.message
            assert problem.persona_key == "anxious_planner"

    assert named == UNRESOLVABLE


def test_arcs_without_a_template_are_named_and_the_anxiety_template_serves_fear(original):
    plan = prompts.plan(
        ["anxious_planner"],
        ["fear_to_confidence", "confusion_to_clarity", *_arcs_without_template()],
        ["hsa_vs_fsa"],
        system=SYSTEM,
    )

    by_arc = {p.emotional_arc_key for p in plan.problems if p.placeholder is None}
    assert by_arc == set(_arcs_without_template())
    assert all(
        "No active prompt template" in p.message for p in plan.problems if p.placeholder is None
    )
    # The anxiety template (arc fear_to_confidence) is found, and names its own gap.
    assert {
        p.placeholder for p in plan.problems if p.emotional_arc_key == "fear_to_confidence"
    } == {
        "persona_anxiety_triggers",
        "topic_security_indicators",
    }
    assert [p.template.emotional_arc_type for p in plan.prompts] == ["confusion_to_clarity"]


def _arcs_without_template() -> list[str]:
    with_template = set(PromptTemplate.objects.values_list("emotional_arc_type", flat=True))
    return sorted(set(EmotionalArc.objects.values_list("arc_key", flat=True)) - with_template)


def test_unknown_keys_and_templates_are_problems_naming_them():
    PersonaFactory(persona_key="saver")

    plan = prompts.plan(
        ["saver", "ghost"], ["no_arc"], ["no_topic"], system=SYSTEM, template_name="Nope"
    )

    assert [p.as_dict() for p in plan.problems] == [
        {"message": "No persona has the key 'ghost'.", "personaKey": "ghost"},
        {"message": "No emotional arc has the key 'no_arc'.", "emotionalArcKey": "no_arc"},
        {"message": "No training topic has the key 'no_topic'.", "trainingTopicKey": "no_topic"},
        {"message": "No prompt template is named 'Nope'.", "templateName": "Nope"},
    ]
    assert plan.prompts == []


def _own_rows(template_text: str, **arc_fields):
    persona = PersonaFactory(persona_key="saver", name="Ann Lee")
    persona.data = {"typical_questions": "['Can I retire at 60?', \"What's a Roth?\"]"}
    persona.save()
    arc = EmotionalArcFactory(arc_key="worry_to_calm")
    arc.data = {"typical_turn_count_min": 4, "typical_turn_count_max": 8, **arc_fields}
    arc.save()
    topic = TrainingTopicFactory(topic_key="ira")
    PromptTemplateFactory(
        name="Calm", emotional_arc_type="worry_to_calm", template_text=template_text
    )
    return persona, arc, topic


def test_python_style_list_strings_render_as_lists_inline_and_alone():
    _own_rows("Asks: {{persona_typical_questions}}.\n{{persona_typical_questions}}\n")

    (prompt,) = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM).prompts

    assert prompt.text == (
        "Asks: Can I retire at 60?; What's a Roth?.\n- Can I retire at 60?\n- What's a Roth?\n"
    )


def test_an_empty_value_and_an_unknown_name_are_both_named():
    _own_rows("{{persona_common_concerns}} {{ persona_favourite_colour }} {{persona_name}}")

    plan = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM)

    assert [(p.placeholder, p.message) for p in plan.problems] == [
        (
            "persona_common_concerns",
            "Placeholder {{persona_common_concerns}} is empty: the persona has no common_concerns.",
        ),
        (
            "persona_favourite_colour",
            "Unknown placeholder {{persona_favourite_colour}}: it is not in the generation "
            "variable catalogue, so it has no value.",
        ),
    ]
    assert plan.prompts == []


def test_a_value_carrying_a_placeholder_is_never_sent():
    persona, *_ = _own_rows("Hello {{persona_name}}")
    persona.name = "{{topic_name}}"
    persona.save()

    plan = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM)

    assert [p.placeholder for p in plan.problems] == ["topic_name"]
    assert plan.prompts == []


def test_target_turn_count_is_inside_the_range_and_the_same_for_the_same_item():
    _own_rows("{{target_turn_count}}")

    first = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM, repeat=40)
    again = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM, repeat=40)

    counts = [p.target_turn_count for p in first.prompts]
    assert counts == [p.target_turn_count for p in again.prompts]
    assert [p.text for p in first.prompts] == [str(n) for n in counts]
    assert set(counts) == {4, 5, 6, 7, 8}  # 40 draws cover a range of five
    assert len({p.prompt_hash for p in first.prompts}) == 5


def test_target_turn_count_without_a_range_is_named():
    _own_rows("{{target_turn_count}}", typical_turn_count_min=None)

    plan = prompts.plan(["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM)

    assert plan.problems[0].placeholder == "target_turn_count"
    assert "typical_turn_count_min" in plan.problems[0].message


def test_too_many_items_is_a_problem_before_anything_is_built():
    _own_rows("{{persona_name}}")

    plan = prompts.plan(
        ["saver"], ["worry_to_calm"], ["ira"], system=SYSTEM, repeat=11, max_items=10
    )

    assert [p.message for p in plan.problems] == [
        "11 items is more than the 10 one generation job may have."
    ]


def test_every_catalogue_name_has_a_source_field_on_the_demo_rows():
    import_scaffolding(scaffolding_paths())
    persona, arc, topic = (
        Persona.objects.first(),
        EmotionalArc.objects.first(),
        TrainingTopic.objects.first(),
    )

    values = catalogue.variables(persona, arc, topic, target_turn_count=6)

    assert set(values) == catalogue.NAMES


def test_the_demo_templates_render_for_every_combination():
    import_scaffolding(scaffolding_paths())
    with_template = list(PromptTemplate.objects.values_list("emotional_arc_type", flat=True))

    plan = prompts.plan(
        list(Persona.objects.values_list("persona_key", flat=True)),
        with_template,
        list(TrainingTopic.objects.values_list("topic_key", flat=True)),
        system=SYSTEM,
    )

    assert plan.problems == []
    assert plan.items == 3 * 3 * 6
    assert not any(re.search(r"\{\{|\}\}", p.text) for p in plan.prompts)
