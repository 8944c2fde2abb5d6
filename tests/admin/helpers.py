"""Small helpers shared by the admin tests."""

from django.contrib.messages import get_messages

CONVERSATIONS = "/admin/conversations/conversation/"
BATCH_JOBS = "/admin/conversations/batchjob/"
BATCH_ITEMS = "/admin/conversations/batchitem/"
RUNS = "/admin/enrichment/enrichmentrun/"


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def action_choices(response) -> list[str]:
    return [name for name, _ in response.context["action_form"].fields["action"].choices if name]


def run_action(client, url: str, action: str, rows, **extra):
    """Post an action the way the change list does (a selection plus ``index``)."""
    data = {"action": action, "_selected_action": [str(row.pk) for row in rows], "index": 0}
    return client.post(url, {**data, **extra})


def run_links(run) -> str:
    """The links a message gives to follow a background run."""
    return (
        f'<a href="/runs/{run.pk}/">the run’s page</a> or '
        f'<a href="/admin/enrichment/enrichmentrun/{run.pk}/change/">in the admin</a>'
    )
