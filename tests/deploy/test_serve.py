"""bin/serve as a deployment runs it (gunicorn, debug off), behind an HTTPS proxy: the
requests below are what nginx in front sends (X-Forwarded-Proto, the browser's Origin)."""

import http.client
import json
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from django.db import connection

from tests.factories import UserFactory
from tests.servers import give_password, production_env, start_web

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PUBLIC = "https://enrichment.example.com"


@pytest.fixture(scope="module")
def proxied_server(test_database, static_root, tmp_path_factory):
    """The app as deployed behind a TLS-terminating proxy that rewrites Host (nginx's
    default), with JSON logs."""
    folder = tmp_path_factory.mktemp("proxied")
    env = production_env(
        media_root=folder / "media",
        static_root=static_root,
        DJANGO_ALLOWED_HOSTS="enrichment.example.com,127.0.0.1",
        DJANGO_TRUST_X_FORWARDED_PROTO="true",
        DJANGO_CSRF_TRUSTED_ORIGINS=PUBLIC,
        DJANGO_LOG_FORMAT="json",
        DATABASE_POOL_TIMEOUT="2",
    )
    server = start_web(env, folder / "serve.log")
    yield server
    server.stop()


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.msg
        self.body = response.read()
        self.cookies = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            self.cookies.load(header)


def send(url: str, method: str, path: str, *, headers=None, form=None) -> Answer:
    """One request, redirects not followed, exactly the headers given."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = urlencode(form) if form is not None else None
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        return Answer(connection.getresponse())
    finally:
        connection.close()


def via_proxy(**headers: str) -> dict[str, str]:
    return {"X-Forwarded-Proto": "https", **headers}


def log_in(server, *, origin: str) -> tuple[Answer, Answer]:
    form_page = send(server.url, "GET", "/accounts/login/", headers=via_proxy())
    csrf = form_page.cookies["csrftoken"].value
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.body).group(1)
    posted = send(
        server.url,
        "POST",
        "/accounts/login/",
        headers=via_proxy(
            Origin=origin, Referer=f"{origin}/accounts/login/", Cookie=f"csrftoken={csrf}"
        ),
        form={"csrfmiddlewaretoken": token.decode(), "username": "dana", "password": "pw-1"},
    )
    return form_page, posted


def test_a_login_through_an_https_proxy_from_a_trusted_origin_succeeds(proxied_server):
    give_password(UserFactory(username="dana"), "pw-1")

    form_page, posted = log_in(proxied_server, origin=PUBLIC)

    assert form_page.status == 200
    assert form_page.cookies["csrftoken"]["secure"] is True
    assert form_page.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert posted.status == 302, posted.body[:300]
    assert posted.headers["Location"] == "/batch-jobs/"
    session = posted.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    page = send(
        proxied_server.url,
        "GET",
        "/batch-jobs/",
        headers=via_proxy(Cookie=f"sessionid={session.value}"),
    )
    assert page.status == 200
    assert b'Log out <span class="muted">(dana)</span>' in page.body


def test_a_login_posted_from_an_origin_not_listed_is_refused(proxied_server):
    give_password(UserFactory(username="dana"), "pw-1")

    _, posted = log_in(proxied_server, origin="https://evil.example.com")

    assert posted.status == 403
    assert "sessionid" not in posted.cookies


def test_plain_http_is_redirected_to_https_except_the_health_check(proxied_server):
    page = send(proxied_server.url, "GET", "/accounts/login/")
    health = send(proxied_server.url, "GET", "/healthz")

    host = urlsplit(proxied_server.url).netloc
    assert page.status == 301
    assert page.headers["Location"] == f"https://{host}/accounts/login/"
    assert "Strict-Transport-Security" not in page.headers
    assert health.status == 200
    assert json.loads(health.body) == {
        "success": True,
        "checks": {"database": "ok", "storage": "ok", "workers": "none"},
        "workers": 0,
    }


def test_every_log_line_is_json_and_a_request_s_lines_share_its_id(proxied_server):
    answer = send(proxied_server.url, "GET", "/no-such-page/", headers=via_proxy())

    entries = [json.loads(line) for line in proxied_server.log.read_text().splitlines()]
    rid = answer.headers["X-Request-ID"]
    mine = [(e["logger"], e["message"]) for e in entries if e["requestId"] == rid]
    assert answer.status == 404
    # One line per request: Django's "Not Found: ..." does not repeat the access line.
    assert [logger for logger, _ in mine] == ["access"]
    assert {"gunicorn.error"} <= {e["logger"] for e in entries}


def allow_connections(allowed: bool) -> None:
    """Open or close the test database to new connections; closing also cuts every
    connection but this process's own (from the maintenance database, as an operator)."""
    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [own_pid] = cursor.fetchone()
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" WITH ALLOW_CONNECTIONS {allowed}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> %s",
                [db["NAME"], own_pid],
            )


def test_healthz_answers_503_while_the_database_is_down_and_200_once_it_is_back(
    proxied_server,
):
    allow_connections(False)
    try:
        down = send(proxied_server.url, "GET", "/healthz")
    finally:
        allow_connections(True)
    up = send(proxied_server.url, "GET", "/healthz")

    assert down.status == 503
    assert json.loads(down.body) == {
        "success": False,
        "error": "database unavailable (OperationalError)",
        "code": "unavailable",
        "checks": {"database": "error", "storage": "ok"},
        "workers": None,
    }
    assert up.status == 200
