"""The admin: browse everything, enrich selections through the front door (or, above
``ENRICHMENT_BULK_LIMIT``, a background run), and follow, cancel and retry runs."""

from .conversations import ENRICH_PERMISSION, ConversationAdmin
from .display import ADMIN_CSS, badge, enrichment_status_badge
from .reports import AdminReport, enrich_for_admin
from .runs import EnrichmentRunAdmin
from .scaffolding import EmotionalArcAdmin, PersonaAdmin, PromptTemplateAdmin, TrainingTopicAdmin
from .tokens import ApiTokenAdmin

__all__ = [
    "ADMIN_CSS",
    "ENRICH_PERMISSION",
    "AdminReport",
    "ApiTokenAdmin",
    "ConversationAdmin",
    "EmotionalArcAdmin",
    "EnrichmentRunAdmin",
    "PersonaAdmin",
    "PromptTemplateAdmin",
    "TrainingTopicAdmin",
    "badge",
    "enrich_for_admin",
    "enrichment_status_badge",
]
