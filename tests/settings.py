"""Settings of the test suite: the service's own, plus what a test run needs and no
environment provides. Subprocesses started by tests inherit the variables set here."""

import os

# Production mode (debug off) needs a key; the suite brings its own.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-key-" + "x" * 50)
# The test client speaks plain HTTP; tests of HTTPS mode start a server with it on.
os.environ.setdefault("DJANGO_HTTPS", "false")

from config.settings import *  # noqa: E402, F403
from config.settings import STORAGES  # noqa: E402

# Pages render with the source static files: the hashed manifest exists only after
# collectstatic, which bin/serve runs (the production-mode tests start it).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
