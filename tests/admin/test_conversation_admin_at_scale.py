"""The conversations changelist at any size: one count, estimated above the limit."""

import pytest
from django.db import connection

from tests.admin.helpers import CONVERSATIONS
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_the_changelist_counts_exactly_below_the_limit(admin_client):
    for _ in range(3):
        ConversationFactory(document=None)

    response = admin_client.get(CONVERSATIONS)

    assert response.context["cl"].paginator.estimated is False
    assert "\n3 conversations\n" in response.content.decode()


def test_the_changelist_says_about_when_it_shows_the_estimate(admin_client, settings):
    settings.LIST_EXACT_COUNT_LIMIT = 10
    for _ in range(30):
        ConversationFactory(document=None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations")

    response = admin_client.get(CONVERSATIONS)

    paginator = response.context["cl"].paginator
    assert paginator.estimated is True
    assert f"\n{paginator.count_text} conversations\n" in response.content.decode()
    assert paginator.count_text == "about 30"
    assert len(response.context["cl"].result_list) == 30
