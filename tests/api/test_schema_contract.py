"""The OpenAPI schema is a truthful contract: schemathesis generates requests from it
(valid and invalid), sends them to the app, and checks every answer against it: status
codes and content types documented, response bodies matching their schemas, valid
requests accepted."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def token(db) -> str:
    user = UserFactory()
    job = BatchJobFactory(created_by=user)
    BatchItemFactory(batch_job=job)
    return Token.objects.create(user=user).key


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_openapi_contract(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
