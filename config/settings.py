"""Settings for the enrichment service, read from the environment.

Every variable is optional. A malformed value stops start-up with an
``ImproperlyConfigured`` naming the variable, so a typo never runs silently.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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


DEBUG = env_bool("DJANGO_DEBUG", False)
_secret = os.environ.get("DJANGO_SECRET_KEY")
if not _secret:
    if not DEBUG and env_bool("DJANGO_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set.")
    # A fixed development key: fine for local use and tests, never for a deployment.
    _secret = "dev-insecure-enrichment-service-key-change-me-0123456789abcdef"
SECRET_KEY = _secret
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

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
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
else:
    # Pages run small LIMIT queries: starting parallel workers for one costs more than it
    # saves (about 70 ms on a busy 2-core machine, by the scale benchmark). Set it above 0
    # for a database that serves big reports.
    _parallel = env_int("POSTGRES_PARALLEL_WORKERS", 0, minimum=0)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (
        f"{_options.get('options', '')} -c max_parallel_workers_per_gather={_parallel}".strip()
    )
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
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

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

# Lists at scale ------------------------------------------------------------
# Lists count their rows exactly up to this many; above, they show PostgreSQL's estimate.
LIST_EXACT_COUNT_LIMIT = env_int("LIST_EXACT_COUNT_LIMIT", 10_000)
# Batch-job counts: a request counts again the jobs it shows, up to this many items in all
# (the rest are counted by a background task), and looks for up to this many changed
# conversations itself (more are left to that task too).
BATCH_COUNTS_INLINE_LIMIT = env_int("BATCH_COUNTS_INLINE_LIMIT", 2000)
BATCH_COUNTS_SWEEP_LIMIT = env_int("BATCH_COUNTS_SWEEP_LIMIT", 2000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "enrichment": {"level": os.environ.get("ENRICHMENT_LOG_LEVEL", "INFO")},
    },
}
