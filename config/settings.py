"""Settings for the enrichment service, read from the environment.

Every variable is optional. A malformed value stops start-up with an
``ImproperlyConfigured`` naming the variable, so a typo never runs silently.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} must list at least one value (comma-separated).")
    return items


def env_database(name: str, default: str) -> dict:
    raw = os.environ.get(name) or default
    try:
        config = dj_database_url.parse(raw, conn_max_age=0)
    except Exception as exc:  # dj_database_url raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL ({raw!r}): {exc}") from exc
    if config.get("ENGINE") not in {
        "django.db.backends.sqlite3",
        "django.db.backends.postgresql",
    }:
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:// or postgres:// URL, got {raw.split(':', 1)[0]!r}."
        )
    if config["ENGINE"] == "django.db.backends.postgresql" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://host/dbname.")
    return config


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return Path(raw).expanduser().resolve()


def env_file(name: str) -> Path | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ImproperlyConfigured(f"{name} points to {raw!r}, which is not a readable file.")
    return path


def env_origins(name: str) -> list[str]:
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.netloc
            or origin != (f"{parts.scheme}://{parts.netloc}")
        ):
            raise ImproperlyConfigured(
                f"{name} must list origins such as https://enrichment.example.com "
                f"(scheme and host, no path), got {origin!r}."
            )
    return origins


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def env_level(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ImproperlyConfigured(
            f"{name} must be a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL), got {value!r}."
        )
    return value


def env_required(name: str, why: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set {why}.")
    return value


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false (make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'). "
            "On a development machine, DJANGO_DEBUG=true uses a built-in key."
        )
    # Debug mode only: a fixed key is fine on a laptop and never signs anything in production.
    SECRET_KEY = "dev-insecure-enrichment-service-key-change-me-0123456789abcdef"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

# HTTPS: on by default in production mode; DJANGO_HTTPS=false serves plain HTTP (a private
# network), without HSTS, secure cookies or the redirect to https.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (only if the proxy
# always sets it, overwriting what a client sent).
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Origins allowed to post forms when they differ from the Host the app sees (a proxy that
# rewrites Host), e.g. https://enrichment.example.com.
CSRF_TRUSTED_ORIGINS = env_origins("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks_db",
    "enrichment",
    "batches",
    "training",
    "devtools",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and a db_worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
elif env_bool("DATABASE_POOL", True):
    # One pool per process (each gunicorn worker, each db_worker), opened on first use, so
    # no connection is ever shared across a fork. A request or a task holds one connection
    # from it; the enrichment threads of parallel mode never touch the database.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 4),
        # Seconds a request waits for a free connection before it fails.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }
    # A pooled connection that broke (the server restarted) is replaced before use.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/batch-jobs/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "var" / "staticfiles")
MEDIA_ROOT = env_path("MEDIA_ROOT", BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "enrichment.storage.AtomicFileSystemStorage"},
    # Production serves hashed, compressed copies (collectstatic, which bin/serve runs)
    # through whitenoise with far-future cache headers; debug mode serves the sources.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Every file the service stores (conversations, enriched files, anything added later)
# goes through STORAGES["default"]: the local MEDIA_ROOT, or an S3-compatible bucket
# configured with django-storages' usual AWS_* variables.
FILE_STORAGE = env_choice("FILE_STORAGE", "local", ("local", "s3"))
if FILE_STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = env_required("AWS_STORAGE_BUCKET_NAME", "when FILE_STORAGE=s3")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE") or None
    AWS_LOCATION = os.environ.get("AWS_LOCATION", "").strip("/")
    # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by django-storages), or
    # anything else boto3 finds (an instance role, ~/.aws).
    # Paths are exact: a write replaces the object there, never renames.
    AWS_S3_FILE_OVERWRITE = True
    AWS_DEFAULT_ACL = None
    STORAGES["default"] = {"BACKEND": "enrichment.s3.S3Storage"}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("DJANGO_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated call answers 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["enrichment.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "enrichment.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Conversation enrichment API",
    "DESCRIPTION": "Validate, enrich, normalize and store LLM training conversations, "
    "one at a time, in bulk, or as background runs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.require_bodies",
    ],
}

# Enrichment ----------------------------------------------------------------
# A JSON file replacing the default consultant profile, system prompt and dataset constants.
ENRICHMENT_PROFILE = env_file("ENRICHMENT_PROFILE")
if ENRICHMENT_PROFILE is not None:
    # Read once here so a broken profile stops start-up instead of failing every enrichment.
    from enrichment.pipeline.profile import ProfileError, load_profile

    try:
        load_profile(ENRICHMENT_PROFILE)
    except ProfileError as exc:
        raise ImproperlyConfigured(f"ENRICHMENT_PROFILE: {exc}") from None
# How long a claim holds a conversation before another caller may take it over.
ENRICHMENT_LEASE_SECONDS = env_int("ENRICHMENT_LEASE_SECONDS", 300)
# Most conversations bulk-enrich runs at once when sequential=false.
ENRICHMENT_MAX_PARALLEL = env_int("ENRICHMENT_MAX_PARALLEL", 4)
# Largest synchronous bulk request; anything bigger is a background run.
ENRICHMENT_BULK_LIMIT = 100
# Largest JSON body the API reads (a run over ~400,000 ids); bigger answers 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 16 * 1024 * 1024)
# Conversations a background-run task processes before it records progress.
ENRICHMENT_RUN_CHUNK_SIZE = env_int("ENRICHMENT_RUN_CHUNK_SIZE", 50)
# Outcomes a background run commits per transaction (a crash re-does at most these).
ENRICHMENT_RUN_COMMIT_EVERY = env_int("ENRICHMENT_RUN_COMMIT_EVERY", 10)
# Lane tasks enqueued per run: how many workers can share one run.
ENRICHMENT_RUN_LANES = env_int("ENRICHMENT_RUN_LANES", 2)

# Logs: stdout, as text or (DJANGO_LOG_FORMAT=json) one JSON object a line; every line
# logged while a request is handled carries its id.
LOGGING = logging_config(
    fmt=env_choice("DJANGO_LOG_FORMAT", "text", ("text", "json")),
    root_level=env_level("DJANGO_LOG_LEVEL", "WARNING"),
    levels={
        "django": env_level("DJANGO_LOG_LEVEL", "WARNING"),
        "enrichment": env_level("ENRICHMENT_LOG_LEVEL", "INFO"),
        "access": env_level("DJANGO_ACCESS_LOG_LEVEL", "INFO"),
    },
)
