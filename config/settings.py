"""Settings for the enrichment service, read from the environment.

Every variable is optional. A malformed value stops start-up with an
``ImproperlyConfigured`` naming the variable, so a typo never runs silently.
"""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

from config.env import (  # noqa: E402
    embedded_database_url,
    env_bool,
    env_cache,
    env_choice,
    env_database,
    env_file,
    env_int,
    env_level,
    env_list,
    env_origins,
    env_path,
    env_rate,
    env_required,
)

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
elif SECRET_KEY.startswith("paste-the-output-of"):
    # The README's example environment, copied without making a key: everyone has it.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is still the README's placeholder; make a key with: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
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
# Content-Security-Policy of every response: scripts, styles, images and requests from the
# site itself only, no plugins, no framing, forms posted to the site only. The pages carry
# no inline script or style (htmx's indicator styles are off, the API docs load their
# start-up script as a file).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "procrastinate.contrib.django",
    "core",
    "conversations",
    "enrichment",
    "axes",
    "batches",
    "intake",
    "training",
    "generation",
    "review",
    "devtools",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.UnavailablePagesMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a login for a locked-out username and address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# PostgreSQL only (the job engine lives in it too). Without DATABASE_URL: the project's
# own server under var/postgres, which bin/demo and bin/test start.
DATABASES = {"default": env_database("DATABASE_URL", embedded_database_url(BASE_DIR))}
if env_bool("DATABASE_POOL", True):
    # One pool per process (each web worker, each task worker), opened on first use, so
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
# Pages run small LIMIT queries: starting parallel workers for one costs more than it
# saves (about 70 ms on a busy 2-core machine, by the scale benchmark). Set it above 0 for
# a database that serves big reports.
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
    "default": {"BACKEND": "core.storage.AtomicFileSystemStorage"},
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
    STORAGES["default"] = {"BACKEND": "core.s3.S3Storage"}

# Background work: Procrastinate, on the same database. Workers (bin/worker) beat every
# WORKER_HEARTBEAT_SECONDS; the jobs of a worker silent for WORKER_STALLED_SECONDS (killed,
# its machine or database lost) are run again by another one (core.tasks).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 5)
WORKER_STALLED_SECONDS = env_int("WORKER_STALLED_SECONDS", 20)
if WORKER_STALLED_SECONDS < 2 * WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "WORKER_STALLED_SECONDS must be at least twice WORKER_HEARTBEAT_SECONDS, or a "
        "worker that is only slow to beat would have its jobs run twice."
    )
# Failed, cancelled and aborted jobs stay this long for the admin (succeeded ones go at once).
JOBS_KEEP_HOURS = env_int("JOBS_KEEP_HOURS", 168)
PROCRASTINATE_WORKER_DEFAULTS = {
    # Enrichment is CPU-bound: one job at a time per process; run more workers for more.
    "concurrency": env_int("WORKER_CONCURRENCY", 1),
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_SECONDS,
    # New jobs are announced (LISTEN/NOTIFY); retried ones are found by polling.
    "fetch_job_polling_interval": 1.0,
    "delete_jobs": "successful",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated call answers 401 with WWW-Authenticate.
        "core.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttles.AnonThrottle",
        "core.api.throttles.UserThrottle",
    ],
    # Behind N proxies, the client address is the one the last of them saw.
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0, minimum=0),
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
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
    # A choice set several responses share gets a name instead of a hash.
    "ENUM_NAME_OVERRIDES": {
        "BatchJobStatusEnum": "conversations.models.BatchJobStatus",
        "BatchItemStatusEnum": "conversations.models.BatchItemStatus",
        "OutcomeStatusEnum": "enrichment.pipeline.outcomes.OUTCOME_STATUSES",
        "SkipReasonEnum": "enrichment.pipeline.outcomes.SKIP_REASONS",
        "ReviewStatusEnum": "conversations.models.ReviewStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.require_bodies",
        "config.openapi.close_request_bodies",
        "config.openapi.document_retry_after",
        "config.openapi.summarize_operations",
    ],
}

# Where people reach the site, for the links commands print (else bin/demo's, PORT or 8000).
SITE_URL = os.environ.get("SITE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"

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
# How long a reviewer's claim on a conversation keeps it from other reviewers' queues.
REVIEW_CLAIM_SECONDS = env_int("REVIEW_CLAIM_SECONDS", 600)
# Conversations one bulk review takes (API, conversations page).
REVIEW_BULK_LIMIT = 100
# Most files one upload on the "New batch job" page may carry (Django's default is 100).
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("UPLOAD_MAX_FILES", 1000)
# Most bytes of files one upload may carry in all; a bigger upload answers 413. Every
# request body is capped at this plus 1 MiB of multipart framing (config.serving), which is
# what a proxy in front should allow (nginx: client_max_body_size 21m for the default).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# Uploaded files and request bodies go to temporary files on disk past 256 KiB, so an
# upload costs the web process about one file's read buffer, whatever its size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
# Largest JSON body the API reads (a run over ~400,000 ids); bigger answers 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 16 * 1024 * 1024)
# Conversations one background job of a run claims and processes (a crash re-does at most
# these; a worker asked to stop finishes them first).
ENRICHMENT_RUN_CHUNK_SIZE = env_int("ENRICHMENT_RUN_CHUNK_SIZE", 500)
# Outcomes a background run commits per transaction (a crash re-does at most these).
ENRICHMENT_RUN_COMMIT_EVERY = env_int("ENRICHMENT_RUN_COMMIT_EVERY", 100)
# Lanes per run: how many workers can share one run at once.
ENRICHMENT_RUN_LANES = env_int("ENRICHMENT_RUN_LANES", 2)

# Generation ----------------------------------------------------------------
# The SDK reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself: never a setting, never stored.
GENERATION_MODEL = os.environ.get("GENERATION_MODEL", "claude-sonnet-5-5")
GENERATION_MODE = env_choice("GENERATION_MODE", "batch", ("batch", "realtime"))
GENERATION_MAX_TOKENS = env_int("GENERATION_MAX_TOKENS", 24_576)
# Realtime calls in flight across all workers.
GENERATION_CONCURRENCY = env_int("GENERATION_CONCURRENCY", 4)
GENERATION_POLL_SECONDS = env_int("GENERATION_POLL_SECONDS", 60)
GENERATION_MAX_ITEMS = env_int("GENERATION_MAX_ITEMS", 10_000)
GENERATION_DEMO_PROVIDER = env_bool("GENERATION_DEMO_PROVIDER", False)  # bin/demo's fake one
# {"<model>": {"input": USD per million tokens, "output": …}} over generation/pricing.py's.
GENERATION_PRICES = {}
if os.environ.get("GENERATION_PRICES"):
    from generation.pricing import parse_prices

    try:
        GENERATION_PRICES = parse_prices(os.environ["GENERATION_PRICES"])
    except ValueError as exc:
        raise ImproperlyConfigured(f"GENERATION_PRICES: {exc}") from None

# Lists at scale ------------------------------------------------------------
# Lists count their rows exactly up to this many; above, they show PostgreSQL's estimate.
LIST_EXACT_COUNT_LIMIT = env_int("LIST_EXACT_COUNT_LIMIT", 10_000)

# Throttling and lockout ----------------------------------------------------
# API calls per user (token or session), per address without credentials, and wrong tokens
# per address; past them the API answers 429 with Retry-After.
API_THROTTLE_RATES = {
    "user": env_rate("API_THROTTLE_USER", "600/minute"),
    "anon": env_rate("API_THROTTLE_ANON", "60/minute"),
    "failed_token": env_rate("API_THROTTLE_FAILED_TOKENS", "20/minute"),
}
# Throttle counts must be shared by every web process, or each one would allow the full
# rate: the database by default (nothing more to run), Redis when there is one.
API_THROTTLE_CACHE = "throttle"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    API_THROTTLE_CACHE: env_cache("API_THROTTLE_CACHE", "database"),
}
# Login lockout (django-axes) for /accounts/login/ and the admin: after this many wrong
# passwords for one username from one address, that pair is refused (429) for a while.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.api.throttles.client_address"
AXES_LOCKOUT_CALLABLE = "config.views.locked_out"

# Logs: stdout, as text or (DJANGO_LOG_FORMAT=json) one JSON object a line; every line
# logged while a request is handled carries its id.
LOGGING = logging_config(
    fmt=env_choice("DJANGO_LOG_FORMAT", "text", ("text", "json")),
    root_level=env_level("DJANGO_LOG_LEVEL", "WARNING"),
    levels={
        "django": env_level("DJANGO_LOG_LEVEL", "WARNING"),
        # A 4xx is in the access line already; Django's "Not Found: ..." would say it
        # again. Server errors (with their traceback) still are logged.
        "django.request": "ERROR",
        # The development server's own request lines repeat the access line likewise.
        "django.server": "ERROR",
        "enrichment": env_level("ENRICHMENT_LOG_LEVEL", "INFO"),
        "access": env_level("DJANGO_ACCESS_LOG_LEVEL", "INFO"),
        "procrastinate": env_level("WORKER_LOG_LEVEL", "WARNING"),
    },
)
