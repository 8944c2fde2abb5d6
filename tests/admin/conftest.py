import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory

# What an operator who browses the admin has, without the right to run enrichment.
BROWSE_PERMISSIONS = [
    "view_conversation",
    "change_conversation",
    "delete_conversation",
    "view_batchjob",
    "change_batchjob",
    "view_batchitem",
    "view_enrichmentrun",
]


def _staff_client(*codenames: str) -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["conversations", "enrichment"], codename__in=codenames
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def enricher_client(db) -> Client:
    """Staff with the custom ``conversations.enrich_conversation`` permission, not superuser."""
    return _staff_client(*BROWSE_PERMISSIONS, "enrich_conversation")


@pytest.fixture
def browser_client(db) -> Client:
    """Staff who may browse, edit and delete, but not run enrichment."""
    return _staff_client(*BROWSE_PERMISSIONS)
