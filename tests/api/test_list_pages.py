"""Every list of the API has one shape: ``{"success": true, "data": [...], "pagination":
{"limit", "offset", "nextOffset"}}``, read with ``?limit=`` and ``?offset=``, and the
schema says so with one component and the same two parameters (with their defaults)."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from core.tokens import create_token
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EnrichmentRunFactory,
    TrainingFileFactory,
    a_run,
)

pytestmark = pytest.mark.django_db


def three_batch_jobs(user) -> str:
    for _ in range(3):
        BatchJobFactory(created_by=user)
    return "/api/batch-jobs"


def three_batch_items(user) -> str:
    job = BatchJobFactory(created_by=user)
    for position in (1, 2, 3):
        BatchItemFactory(batch_job=job, position=position)
    return f"/api/conversations/batch/{job.pk}/items"


def three_run_items(user) -> str:
    run = a_run([ConversationFactory(created_by=user).pk for _ in range(3)], user=user)
    return f"/api/enrichment-runs/{run.pk}/items"


def three_training_files(user) -> str:
    for _ in range(3):
        TrainingFileFactory(created_by=user)
    return "/api/training-files"


def three_runs(user) -> str:
    for _ in range(3):
        EnrichmentRunFactory(created_by=user)
    return "/api/enrichment-runs"


def three_conversations(user) -> str:
    for _ in range(3):
        ConversationFactory(created_by=user)
    return "/api/conversations"


def three_tokens(user) -> str:
    for n in range(3):
        create_token(user, name=f"Token {n}")
    return "/api/tokens"


LISTS = [
    three_tokens,
    three_conversations,
    three_batch_jobs,
    three_batch_items,
    three_run_items,
    three_training_files,
    three_runs,
]


@pytest.mark.parametrize("make", LISTS, ids=lambda make: make.__name__)
def test_every_list_pages_with_limit_and_offset_in_one_shape(api, user, make):
    url = make(user)

    first = api.get(url, {"limit": 2})
    last = api.get(url, {"limit": 2, "offset": 2})
    beyond = api.get(url, {"offset": 10})

    assert first.status_code == 200, first.json()
    assert first.json()["success"] is True
    assert len(first.json()["data"]) == 2
    assert first.json()["pagination"] == {"limit": 2, "offset": 0, "nextOffset": 2}
    assert len(last.json()["data"]) == 1
    assert last.json()["pagination"] == {"limit": 2, "offset": 2, "nextOffset": None}
    assert beyond.json()["data"] == []
    assert beyond.json()["pagination"]["nextOffset"] is None
    assert not {"count", "nextOffset"} & set(first.json())


@pytest.mark.parametrize("make", LISTS, ids=lambda make: make.__name__)
@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "100000"}, {"offset": "-1"}])
def test_every_list_refuses_a_bad_page_naming_the_parameter(api, user, make, query):
    response = api.get(make(user), query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["details"]) == list(query)


def test_the_schema_documents_one_pagination_for_every_list():
    schema = json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )
    components = schema["components"]["schemas"]
    lists = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            ok = operation["responses"].get("200", {}).get("content", {}).get("application/json")
            if not ok or "$ref" not in ok["schema"]:
                continue
            body = components[ok["schema"]["$ref"].rsplit("/", 1)[-1]]
            assert not {"count", "nextOffset"} & set(body.get("properties", {})), path
            if "pagination" in body.get("properties", {}):
                lists[f"{method} {path}"] = (operation, body)

    assert set(lists) >= {
        "get /api/batch-jobs",
        "get /api/conversations/batch/{job_id}/items",
        "get /api/enrichment-runs/{run_id}/items",
        "get /api/training-files",
        "get /api/enrichment-runs",
        "get /api/conversations",
        "get /api/tokens",
    }
    for name, (operation, body) in lists.items():
        assert body["properties"]["pagination"] == {"$ref": "#/components/schemas/Pagination"}
        assert body["properties"]["data"]["type"] == "array", name
        parameters = {p["name"]: p["schema"] for p in operation.get("parameters", [])}
        assert parameters["limit"]["minimum"] == 1, name
        assert isinstance(parameters["limit"]["default"], int), name
        assert parameters["offset"]["default"] == 0, name
    assert set(components["Pagination"]["properties"]) == {"limit", "offset", "nextOffset"}
