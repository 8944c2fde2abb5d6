"""What to do about a failed conversation, by its failure category (and, for validation,
its blockers): the one mapping the conversation's page shows.

The repair actions live on the conversation's edit page (``#edit-form``: the turns and the
metadata; ``#replace``: the stored file replaced), retrying on its own page
(``#actions``); a generated conversation can also be generated again from its generation
job's page (``Retry failed generations``)."""

import re
from dataclasses import dataclass, field

from django.urls import reverse

from conversations.models import BatchJob, Conversation, ErrorCategory

# (label, where: "edit" for the edit page, else an anchor of the conversation's page).
EDIT = ("Edit the conversation", "edit#edit-form")
REPLACE = ("Replace the file", "edit#replace")
RETRY = ("Retry enrichment", "#actions")

# Category → (what happened, what to do, the actions in the order they are suggested).
ADVICE: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    ErrorCategory.VALIDATION: (
        "Its file does not pass validation: the blockers below name the turn and field.",
        "Fix the turn the blocker names (Edit the conversation), or replace the file with a "
        "corrected one; it is then validated and enriched again. Retrying as it is fails "
        "the same way.",
        (EDIT, REPLACE),
    ),
    ErrorCategory.NORMALIZATION: (
        "The enriched document did not pass the normalization gates (its size or its parts).",
        "Edit the conversation (an empty or huge turn is the usual cause) or replace the "
        "file, then it is enriched again. Retrying as it is fails the same way.",
        (EDIT, REPLACE),
    ),
    ErrorCategory.MISSING_INPUT: (
        "The file it is enriched from is not in storage.",
        "Replace the file: upload the conversation again (or paste it) on its edit page.",
        (REPLACE,),
    ),
    ErrorCategory.STORAGE: (
        "The storage failed while its files were read or written.",
        "Nothing is wrong with the conversation: retry once the storage answers again.",
        (RETRY,),
    ),
    ErrorCategory.INTERNAL: (
        "An unexpected error stopped its enrichment.",
        "Retry; if it fails the same way again, report it with the conversation's id and "
        "the error below.",
        (RETRY,),
    ),
}
# Validation blockers whose file cannot be edited turn by turn: it is not a conversation.
# A blocker's field names its turn by index: ``turns[2].emotional_context.intensity``.
TURN = re.compile(r"turns\[(\d+)\]")
NOT_A_CONVERSATION = {"INVALID_JSON_SYNTAX", "MISSING_TURNS_ARRAY", "INSUFFICIENT_TURNS"}
REGENERATE = (
    "It was generated: instead of repairing it you can generate it again from its "
    "generation job {job} (Retry failed generations on the job's page)."
)


@dataclass(frozen=True)
class Advice:
    category: str
    category_label: str
    what: str
    todo: str
    actions: tuple[tuple[str, str], ...]
    # A generated conversation: its generation job (id, name).
    generation_job: tuple | None = None
    blocker_codes: list[str] = field(default_factory=list)
    # The turns (numbered from 1) its validation blockers name.
    turns: list[int] = field(default_factory=list)

    @property
    def regenerate(self) -> str:
        return REGENERATE.format(job=f"“{self.generation_job[1]}”") if self.generation_job else ""


def failure_advice(conversation: Conversation) -> Advice | None:
    """The advice for a failed conversation (or one whose re-enrichment failed and kept
    its previous enriched file); None for the others."""
    if conversation.needs_retry:
        category = conversation.enrichment_error_category
    elif conversation.kept_after_failure:
        category = conversation.last_failure_category
    else:
        return None
    if category not in ADVICE:
        return None
    what, todo, actions = ADVICE[category]
    report = conversation.validation_report or {}
    blockers = [b for b in report.get("blockers") or [] if isinstance(b, dict)]
    codes = [str(b.get("code", "")) for b in blockers]
    turns = sorted({int(m[1]) + 1 for b in blockers if (m := TURN.match(str(b.get("field"))))})
    if category == ErrorCategory.VALIDATION and NOT_A_CONVERSATION & set(codes):
        todo = (
            "The file is not a conversation that can be edited turn by turn (it is not "
            "JSON, often because the reply was cut off, or it has no turns): correct its "
            "text where the file is replaced (the stored text is there to finish), or "
            "upload a complete file."
        )
        actions = (REPLACE,)
    job = (
        BatchJob.objects.filter(items__conversation=conversation, generation__isnull=False)
        .values_list("pk", "name")
        .first()
    )
    edit = reverse("conversation-edit", args=[conversation.pk])
    links = tuple(
        (label, edit + where.removeprefix("edit") if where.startswith("edit") else where)
        for label, where in actions
    )
    return Advice(
        category,
        ErrorCategory(category).label,
        what,
        todo,
        links,
        generation_job=tuple(job) if job else None,
        blocker_codes=codes,
        turns=turns if category == ErrorCategory.VALIDATION else [],
    )
