"""Forms of the conversations page: the list filters and the enrich selection."""

import contextlib
import uuid
from urllib.parse import urlencode

from django import forms
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from conversations.models import BatchItem, BatchJob, Conversation, EnrichmentStatus, Persona

ANY_FAILURE = "failed"

# Sort keys shown in the page's links → model fields. Equal values go by creation time
# and then the row id (stable pages), the same way round, which one index serves.
ORDERINGS = {
    "created": "created_at",
    "name": "conversation_name",
    "status": "enrichment_status",
    "tier": "tier",
    "turns": "turn_count",
}
DEFAULT_ORDERING = "-created"
# Batch jobs offered in the filter's drop-down.
JOB_CHOICES = 100
# A group (batch job) of up to this many conversations is listed by sorting just its rows.
# The planner cannot know that a group's rows sit together in time: it would walk the
# newest-first index expecting to meet them early, and for an old job walk the whole table.
SMALL_GROUP = 5000


def ordering_choices() -> list[tuple[str, str]]:
    return [(f"{sign}{key}", f"{sign}{key}") for key in ORDERINGS for sign in ("", "-")]


def search(text: str) -> Q:
    """Conversations whose name or persona's name contains ``text`` (any case), or whose
    id (either form) it is. The matching personas are looked up first (a small table), so
    the conversations are matched by id, which the planner estimates and indexes well."""
    personas = list(Persona.objects.filter(name__icontains=text).values_list("pk", flat=True))
    match = Q(conversation_name__icontains=text)
    if personas:
        match |= Q(persona_id__in=personas)
    with contextlib.suppress(ValueError):  # not an id: search by text only
        match |= Q(conversation_id=uuid.UUID(text)) | Q(pk=uuid.UUID(text))
    return match


class ConversationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Enrichment status",
        required=False,
        choices=[("", "Any status"), (ANY_FAILURE, "Any failure"), *EnrichmentStatus.choices],
    )
    batch = forms.UUIDField(label="Batch job", required=False, widget=forms.Select)
    persona = forms.ChoiceField(label="Persona", required=False)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Name, id or persona"}),
    )
    order = forms.ChoiceField(required=False, choices=ordering_choices)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Any job id filters (a link from a job's page must never fall back to "all");
        # the choices only feed the drop-down.
        jobs = (
            BatchJob.objects.visible_to(user)
            .holding_conversations_of(user)
            .order_by("-created_at", "-id")
            .values_list("pk", "name")[:JOB_CHOICES]
        )
        choices = [(str(pk), name) for pk, name in jobs]
        selected = str(self.data.get("batch") or "")
        if selected and selected not in dict(choices):
            with contextlib.suppress(ValueError):  # a malformed id is ignored
                choices.append((str(uuid.UUID(selected)), "The selected batch job"))
        self.fields["batch"].widget.choices = [("", "Any batch job"), *choices]
        self.fields["persona"].choices = [
            ("", "Any persona"),
            *((str(pk), name) for pk, name in Persona.objects.values_list("pk", "name")),
        ]

    @property
    def filters(self) -> tuple[str, ...]:
        """The fields that narrow the list (the rest only order or page it)."""
        return ("status", "batch", "persona", "q")

    def filter(self, conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
        """Apply the valid filters; an invalid one is ignored like an empty one."""
        self.is_valid()
        data = self.cleaned_data
        status = data.get("status")
        if status == ANY_FAILURE:
            conversations = conversations.failed()
        elif status:
            conversations = conversations.filter(enrichment_status=status)
        sort_found_rows = False
        if job_id := data.get("batch"):
            conversations = conversations.filter(
                pk__in=Conversation.objects.in_batch_job(job_id).values("pk")
            )
            # Counting the job's items reads one index; counting its conversations would
            # join them all first.
            items = BatchItem.objects.filter(batch_job_id=job_id, conversation__isnull=False)
            sort_found_rows = items.order_by()[: SMALL_GROUP + 1].count() <= SMALL_GROUP
        if data.get("persona"):
            conversations = conversations.filter(persona_id=data["persona"])
        if text := (data.get("q") or "").strip():
            conversations = conversations.filter(search(text))
        order = data.get("order") or DEFAULT_ORDERING
        descending = order.startswith("-")
        field = ORDERINGS[order.lstrip("-")]
        keys = [F(key) for key in dict.fromkeys((field, "created_at", "id"))]
        if sort_found_rows:
            # The same order in an expression no index matches: the database finds the
            # rows first, then sorts them.
            keys[0] = Coalesce(keys[0], keys[0])
        return conversations.order_by(*(k.desc() if descending else k.asc() for k in keys))

    def active_filters(self) -> dict[str, str]:
        """The filters in effect, as submitted (to post them on, or to link back)."""
        self.is_valid()
        return {
            name: str(self.data[name]).strip()
            for name in self.filters
            if self.cleaned_data.get(name) not in (None, "") and str(self.data[name]).strip()
        }

    def query_string(self) -> str:
        return urlencode(self.active_filters())

    def description(self) -> str:
        """The filters in words, e.g. ``Enrichment status: Any failure; Search: “loan”``."""
        parts = []
        for name, value in self.active_filters().items():
            field = self.fields[name]
            if name == "q":
                shown = f"“{value}”"
            else:
                # A scope field's choices live on its widget (any id is valid).
                shown = dict(getattr(field, "choices", None) or field.widget.choices).get(
                    value, value
                )
            parts.append(f"{field.label}: {shown}")
        return "; ".join(parts) or "all conversations"

    @property
    def ordering(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("order") or DEFAULT_ORDERING


class UUIDListField(forms.Field):
    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "“%(value)s” is not a conversation id."}

    def to_python(self, value) -> list[uuid.UUID]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        ids = []
        for item in value:
            try:
                ids.append(uuid.UUID(str(item)))
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": item}
                ) from None
        return list(dict.fromkeys(ids))


class EnrichSelectionForm(forms.Form):
    ids = UUIDListField(error_messages={"required": "Select at least one conversation."})
    next = forms.CharField(required=False, widget=forms.HiddenInput)
