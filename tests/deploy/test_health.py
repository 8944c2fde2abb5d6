"""GET /healthz answers without a login: 200 when the database and the storage answer,
503 naming what failed; and how many workers beat."""

import socket

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_without_a_login_when_everything_answers(
    client, media_root, beating_worker
):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "checks": {"database": "ok", "storage": "ok", "workers": "ok"},
        "workers": 1,
    }
    assert "no-store" in response["Cache-Control"]
    assert media_root.is_dir()


def test_healthz_says_when_no_worker_beats_without_failing_the_web_process(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "checks": {"database": "ok", "storage": "ok", "workers": "none"},
        "workers": 0,
    }


def test_healthz_answers_503_when_the_storage_root_cannot_hold_files(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": "storage unavailable (NotADirectoryError)",
        "code": "unavailable",
        "checks": {"database": "ok", "storage": "error", "workers": "none"},
        "workers": 0,
    }


def test_healthz_checks_the_bucket_with_object_storage(client, s3_storage):
    assert client.get("/healthz").json()["checks"] == {
        "database": "ok",
        "storage": "ok",
        "workers": "none",
    }

    s3_storage.client.delete_bucket(Bucket=s3_storage.name)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": "storage unavailable (ClientError)",
        "code": "unavailable",
        "checks": {"database": "ok", "storage": "error", "workers": "none"},
        "workers": 0,
    }


def test_healthz_is_served_over_plain_http_when_everything_else_redirects(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    page = client.get("/accounts/login/")
    assert page.status_code == 301
    assert page["Location"] == "https://testserver/accounts/login/"


def test_healthz_only_reads(client):
    response = client.post("/healthz")

    assert response.status_code == 405


def test_healthz_answers_503_when_the_object_storage_is_unreachable(client, s3_storage, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    default = settings.STORAGES["default"]
    options = {**default["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{closed_port}"}
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": "storage unavailable (EndpointConnectionError)",
        "code": "unavailable",
        "checks": {"database": "ok", "storage": "error", "workers": "none"},
        "workers": 0,
    }
