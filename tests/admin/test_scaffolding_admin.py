"""Personas, arcs, topics and templates: searchable lists and edit forms."""

import pytest

from conversations.models import Persona
from tests.factories import (
    EmotionalArcFactory,
    PersonaFactory,
    PromptTemplateFactory,
    TrainingTopicFactory,
)

SCAFFOLDING = [
    ("/admin/conversations/persona/", PersonaFactory),
    ("/admin/conversations/emotionalarc/", EmotionalArcFactory),
    ("/admin/conversations/trainingtopic/", TrainingTopicFactory),
    ("/admin/conversations/prompttemplate/", PromptTemplateFactory),
]
# Session, user, the two counts and the page of rows; topics and templates add one query
# per filter on a plain column (its distinct values: category and complexity level; tier
# and category).
LIST_QUERIES = {
    "/admin/conversations/persona/": 5,
    "/admin/conversations/emotionalarc/": 5,
    "/admin/conversations/trainingtopic/": 7,
    "/admin/conversations/prompttemplate/": 7,
}


@pytest.mark.parametrize(("url", "factory"), SCAFFOLDING)
@pytest.mark.parametrize("rows", [1, 3])
def test_scaffolding_lists_cost_the_same_queries_for_1_and_3_rows(
    admin_client, django_assert_num_queries, url, factory, rows
):
    factory.create_batch(rows)

    with django_assert_num_queries(LIST_QUERIES[url]):
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == rows


@pytest.mark.parametrize(("url", "factory"), SCAFFOLDING)
def test_scaffolding_lists_search_by_name(admin_client, url, factory):
    wanted = factory(name="Zebra wanted")
    factory(name="Other")

    response = admin_client.get(url, {"q": "zebra"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_persona_search_finds_the_key(admin_client):
    wanted = PersonaFactory(persona_key="cautious_saver")
    PersonaFactory()

    response = admin_client.get("/admin/conversations/persona/", {"q": "cautious"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_persona_edit_form_saves_changes(admin_client):
    persona = PersonaFactory(name="Sam Ortiz", persona_key="cautious_saver")

    response = admin_client.post(
        f"/admin/conversations/persona/{persona.pk}/change/",
        {
            "name": "Sam Ortiz",
            "persona_key": "cautious_saver",
            "archetype": "The Cautious Saver",
            "is_active": "on",
            "data": "{}",
            "demographics": '{"age": 34}',
            "financial_background": "Saves a lot.",
        },
    )

    assert response.status_code == 302
    persona.refresh_from_db()
    assert persona.archetype == "The Cautious Saver"
    assert persona.demographics == {"age": 34}


def test_persona_can_be_added(admin_client):
    response = admin_client.post(
        "/admin/conversations/persona/add/",
        {"name": "New", "persona_key": "new_one", "data": "{}", "demographics": "null"},
    )

    assert response.status_code == 302
    assert Persona.objects.get(persona_key="new_one").name == "New"
