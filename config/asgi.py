"""The app as bin/serve runs it (``config.serving``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.serving import ServiceASGIHandler  # noqa: E402

application = ServiceASGIHandler()
