"""The OpenAPI schema is a truthful contract: schemathesis generates requests from it
(valid and invalid), sends them to the app, and checks every answer against it: status
codes and content types documented, response bodies matching their schemas, valid
requests accepted."""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.tokens import create_token
from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory


def load_schema() -> schemathesis.BaseSchema:
    """The schema /api/schema/ serves, generated without a request (so without a throttle
    or a database at import time), sent to the app in this process."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()
GENERATION = "/api/generation-jobs"


@pytest.fixture
def token(db, relaxed_throttles, monkeypatch) -> str:
    # Generation requests are then judged on their body (without a key: 503, every time).
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-contract")
    user = UserFactory()
    job = BatchJobFactory(created_by=user)
    BatchItemFactory(batch_job=job)
    return create_token(user, name="contract")[1]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=25,
    # The same cases every run, so the suite cannot fail by chance; bin/fuzz-api explores
    # at random, 1,000 cases per operation.
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_openapi_contract(case, token):
    # A generation request names scaffolding keys and a priced model: a schema-valid body
    # with invented ones is refused by design (400 naming each), so only those operations
    # skip the check that valid bodies are accepted (tests/generation/test_api.py has it).
    excluded = [positive_data_acceptance] if case.operation.path.startswith(GENERATION) else []
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)
