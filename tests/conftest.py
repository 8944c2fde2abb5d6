import os
import uuid
from pathlib import Path

import pytest
from django.db import connection

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from tests.factories import (
    TRUNCATED_REPLY,
    BatchItemFactory,
    BatchJobFactory,
    UserFactory,
    conversation_document,
)

SHARED_DATA = Path(
    os.environ.get("SHARED_DATA_DIR")
    or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings) -> Path:
    """Every test writes its files to its own folder (storage follows the setting)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Password hashing is deliberately slow; tests need none of that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def throttle_counts(settings) -> None:
    """Every test counts throttled calls afresh, in memory: the database cache table of
    production is not emptied between transactional tests. The rates stay as configured."""
    settings.CACHES = {
        **settings.CACHES,
        settings.API_THROTTLE_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{uuid.uuid4()}",
        },
    }


@pytest.fixture
def relaxed_throttles(settings) -> None:
    """For tests that call the API many times a minute: the rates are raised, not removed."""
    settings.API_THROTTLE_RATES = {scope: "1000000/minute" for scope in settings.API_THROTTLE_RATES}


SHARED_DATA_MISSING = (
    "needs the real exported data in ../shared/data beside the project (or set "
    f"SHARED_DATA_DIR); not found at {SHARED_DATA}"
)
# For a module whose module-scoped fixtures read the data.
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=SHARED_DATA_MISSING)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_MISSING)
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say it at the end, where nobody misses it, when real-data tests were skipped."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if SHARED_DATA_MISSING in str(report.longrepr)
    ]
    if skipped:
        count = len(skipped)
        terminalreporter.write_line(
            f"{count} real-data test{'s' if count != 1 else ''} skipped: they need the exported "
            f"data in ../shared/data (not found at {SHARED_DATA}; see the README, Tests).",
            yellow=True,
            bold=True,
        )


# Object storage ------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's standalone S3 server, one for the whole run (each test gets its own bucket)."""
    from tests.servers import start_s3_server

    server = start_s3_server(tmp_path_factory.mktemp("s3") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """An empty bucket of its own on the S3 server; ``.name``, ``.client``, ``.keys()``."""
    import boto3

    from tests.servers import S3_CREDENTIALS, Bucket

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_CREDENTIALS["AWS_S3_REGION_NAME"],
    )
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client, s3_server.url)


@pytest.fixture
def s3_storage(s3_bucket, settings):
    """This test's files go to its bucket (as with FILE_STORAGE=s3), none to MEDIA_ROOT."""
    from tests.servers import S3_CREDENTIALS

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": s3_bucket.name,
                "endpoint_url": s3_bucket.endpoint_url,
                "access_key": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                "region_name": S3_CREDENTIALS["AWS_S3_REGION_NAME"],
                "file_overwrite": True,
            },
        },
    }
    return s3_bucket


# The LLM provider ---------------------------------------------------------------------

FAKE_ANTHROPIC_KEY = "sk-ant-fake-test-key"


# No test reaches a real LLM provider: unless a test points the SDK at our fake provider
# (``fake_anthropic``), it points at a closed local port, so a call nobody meant fails at
# once on 127.0.0.1 (in this process and in the servers and workers it starts).
NO_PROVIDER = "http://127.0.0.1:9"
os.environ["ANTHROPIC_BASE_URL"] = NO_PROVIDER


@pytest.fixture(scope="session")
def fake_anthropic_server(tmp_path_factory):
    """Our fake provider as a process, one for the whole run (each test resets it)."""
    from tests.servers import start_fake_anthropic

    server = start_fake_anthropic(
        tmp_path_factory.mktemp("fake-anthropic") / "fake.log", api_key=FAKE_ANTHROPIC_KEY
    )
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic(fake_anthropic_server, monkeypatch):
    """The fake provider, emptied, with the SDK's environment pointing at it."""
    from tests.servers import FakeAnthropic

    fake = FakeAnthropic(fake_anthropic_server.url)
    fake.reset()
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic_server.url)
    return fake


# Production mode ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """One STATIC_ROOT for every bin/serve of the run (each collects into it)."""
    return tmp_path_factory.mktemp("static")


@pytest.fixture(scope="module")
def test_database(django_db_setup):
    """The test database exists (for a server in another process, started once for a
    module)."""


# Users and batch jobs ---------------------------------------------------------------

PASSWORD = "password"


@pytest.fixture
def user(db):
    return UserFactory(username="dana")


@pytest.fixture
def other_user(db):
    return UserFactory(username="mallory")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def _make_job(
    owner,
    *,
    valid: int = 2,
    invalid: int = 0,
    status: str = BatchJobStatus.COMPLETED,
    name: str = "March windfall batch",
) -> BatchJob:
    """A finished job whose items produced ``valid`` good and ``invalid`` unparseable
    conversations (in that order), all not enriched yet."""
    total = valid + invalid
    job = BatchJobFactory(
        created_by=owner,
        name=name,
        status=status,
        total_items=total,
        completed_items=total,
        successful_items=total,
    )
    for n in range(valid):
        BatchItemFactory(
            batch_job=job,
            position=n + 1,
            conversation__conversation_name=f"Valid chat {n + 1}",
            conversation__document=conversation_document(),
        )
    for n in range(invalid):
        BatchItemFactory(
            batch_job=job,
            position=valid + n + 1,
            conversation__conversation_name=f"Truncated chat {n + 1}",
            conversation__document=TRUNCATED_REPLY,
        )
    return job


@pytest.fixture
def make_job(db):
    return _make_job


@pytest.fixture
def failed_item_factory():
    def make(job: BatchJob, position: int, error: str = "The model timed out."):
        return BatchItemFactory(
            batch_job=job,
            position=position,
            status=BatchItemStatus.FAILED,
            conversation=None,
            error_message=error,
        )

    return make


@pytest.fixture
def empty_database():
    """The URL of a new, empty database on the test server (dropped afterwards): what a
    fresh deployment starts from."""
    import psycopg
    from psycopg import sql

    from devtools.workers import current_database_url

    db = connection.settings_dict
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as server:
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield current_database_url().rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as server:
        server.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(autouse=True)
def engine_tables_emptied(request):
    """After a test whose writes are committed, the job engine's tables are emptied like
    every other table (Django's flush leaves them: they are not Django's): no job, worker
    or schedule of one test is seen by the next."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if committed:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE procrastinate_jobs, procrastinate_events, "
                "procrastinate_periodic_defers, procrastinate_workers RESTART IDENTITY CASCADE"
            )


from tests.jobs import beating_worker  # noqa: E402, F401

# Real worker processes: the fixtures live beside their helpers.
from tests.workers import (  # noqa: E402, F401
    database_proxy,
    default_workers,
    worker_env,
    workers,
)

# Layers ------------------------------------------------------------------------------

# Fixtures that give a test the database (directly or through a client or a server).
_DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server", "test_database"}
_BY_PROCESS = ("e2e", "browser", "worker")


def pytest_collection_modifyitems(config, items) -> None:
    """Every test gets its layer: ``e2e`` (marked so, or by driving a browser or real
    workers), ``integration`` (the database, in this process) or ``unit`` (neither)."""
    for item in items:
        if any(item.get_closest_marker(name) for name in _BY_PROCESS):
            item.add_marker(pytest.mark.e2e)
        elif (
            item.get_closest_marker("integration")
            or item.get_closest_marker("django_db")
            or _DATABASE_FIXTURES & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
