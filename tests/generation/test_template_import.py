"""Prompt templates whole: imported from the original's export, edited in the admin, and
the demo's own."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from conversations.models import PromptTemplate
from devtools.demo.generator import scaffolding_paths

pytestmark = pytest.mark.django_db

WHOLE_COLUMNS = (
    "template_text",
    "description",
    "variables",
    "structure",
    "tone",
    "style_notes",
    "quality_threshold",
    "required_elements",
    "methodology_principles",
    "complexity_baseline",
)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_original_templates_import_whole_into_columns(shared_data):
    path = shared_data / "generation" / "prompt_templates.ndjson"
    exported = {row["template_name"]: row for row in map(json.loads, path.read_text().splitlines())}

    output = run("import_scaffolding", path)

    assert output.strip() == "prompt_templates: 7 rows (7 created, 0 updated, 0 unchanged)"
    for template in PromptTemplate.objects.all():
        row = exported[template.name]
        assert {name: getattr(template, name) for name in WHOLE_COLUMNS} == {
            name: row[name] for name in WHOLE_COLUMNS
        }
        assert "{{persona_name}}" in template.template_text
        # Columns that are not fields stay in data; the whole ones are not kept twice.
        assert template.data == {"example_conversation": row["example_conversation"]}
    anxiety = PromptTemplate.objects.get(emotional_arc_type="fear_to_confidence")
    assert (anxiety.quality_threshold, anxiety.complexity_baseline) == (4.5, 7)


def test_importing_the_narrow_export_after_the_whole_one_keeps_the_text(shared_data):
    run("import_scaffolding", shared_data / "generation" / "prompt_templates.ndjson")

    run("import_scaffolding", shared_data / "scaffolding" / "prompt_templates.ndjson")

    shame = PromptTemplate.objects.get(name="Template - Shame → Acceptance - Financial Trauma")
    assert shame.template_text.startswith("You are")
    assert shame.required_elements[0] == "powerful_normalization"


def test_a_template_with_a_wrong_type_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "prompt_templates.ndjson"
    path.write_text(
        '{"template_name": "A", "template_text": "Hi {{persona_name}}"}\n'
        '{"template_name": "B", "complexity_baseline": "very"}\n'
    )

    with pytest.raises(Exception, match=r"line 2: .*complexity_baseline|line 2: .*integer"):
        run("import_scaffolding", path)
    assert not PromptTemplate.objects.exists()


def test_the_admin_edits_the_whole_template(admin_client):
    template = PromptTemplate.objects.create(name="Calm budgeting", emotional_arc_type="x")
    url = f"/admin/conversations/prompttemplate/{template.pk}/change/"
    page = admin_client.get(url)
    assert 'name="template_text"' in page.content.decode()

    response = admin_client.post(
        url,
        {
            "name": "Calm budgeting",
            "emotional_arc_type": "worry_to_calm",
            "category": "",
            "tier": "template",
            "is_active": "on",
            "template_text": "Talk with {{persona_name}} about {{topic_name}}.",
            "variables": '{"required": ["persona_name", "topic_name"]}',
            "description": "A short one",
            "structure": "",
            "tone": "calm",
            "style_notes": "",
            "quality_threshold": "4.5",
            "required_elements": '["empathy"]',
            "methodology_principles": "[]",
            "complexity_baseline": "6",
            "suitable_personas": "[]",
            "suitable_topics": "[]",
            "data": "{}",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.template_text == "Talk with {{persona_name}} about {{topic_name}}."
    assert template.variables == {"required": ["persona_name", "topic_name"]}
    assert (template.quality_threshold, template.complexity_baseline) == (4.5, 6)
    assert template.required_elements == ["empathy"]


def test_the_demo_templates_are_whole():
    run("import_scaffolding", *scaffolding_paths())

    templates = list(PromptTemplate.objects.all())

    assert len(templates) == 3
    for template in templates:
        assert "{{target_turn_count}}" in template.template_text
        assert template.description and template.tone and template.required_elements
