"""The admin: browse everything, enrich selections through the front door (or, above
``ENRICHMENT_BULK_LIMIT``, a background run), and follow, cancel and retry runs."""

from django.contrib import admin

from .conversations import ENRICH_PERMISSION, ConversationAdmin
from .display import ADMIN_CSS, badge, enrichment_status_badge, short_datetime, truncated
from .reports import AdminReport, enrich_for_admin
from .runs import EnrichmentRunAdmin

__all__ = [
    "ADMIN_CSS",
    "ENRICH_PERMISSION",
    "AdminReport",
    "ConversationAdmin",
    "EnrichmentRunAdmin",
    "badge",
    "enrich_for_admin",
    "enrichment_status_badge",
    "short_datetime",
    "truncated",
]

# The change lists need the width at 1280 px: the apps are one click away on the home page.
admin.site.enable_nav_sidebar = False
