"""Bulk review from the conversations page in Chromium: two rows ticked, one of them
rejected by another reviewer in the meantime; Approve selected approves the other and
leaves the rejected one as that reviewer decided, saying why."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from conversations.models import Conversation
from review import services
from tests.factories import UserFactory, enriched_conversation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_approving_ticked_rows_leaves_one_another_reviewer_rejected_meanwhile(page, log_in):
    owner = UserFactory(username="fay")
    stays = enriched_conversation(created_by=owner, conversation_name="Calm budgeting")
    contested = enriched_conversation(created_by=owner, conversation_name="Risky advice")
    other = UserFactory(username="gus")
    other.user_permissions.add(Permission.objects.get(codename="review_others_conversations"))
    log_in(page, "fay")
    page.goto("/conversations/")
    for conversation in (stays, contested):
        row = page.locator(f"#conversation-{conversation.pk}")
        expect(row.locator("[data-review-status]")).to_have_text("Pending review")
        row.get_by_role("checkbox").check()

    # Another reviewer rejects one while the page still shows it pending.
    services.review(contested, type(other).objects.get(pk=other.pk), "rejected", "", ["safety"])
    page.get_by_role("button", name="Approve selected").click()

    result = page.locator("#enrich-result")
    expect(result).to_contain_text("Approved: 1, not reviewed: 1")
    expect(result).to_contain_text("Risky advice")
    expect(result).to_contain_text("It was reviewed meanwhile: it is rejected now.")
    statuses = dict(Conversation.objects.values_list("conversation_name", "review_status"))
    assert statuses == {"Calm budgeting": "approved", "Risky advice": "rejected"}
