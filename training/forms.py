"""Forms of the training-file pages: which conversations (ticked rows, everything matching
the conversations list's filter, a batch job, or pasted ids), and what to do with them."""

import re
import uuid
from dataclasses import dataclass

from django import forms

from conversations.models import BatchJob, Conversation
from enrichment.forms import ConversationFilterForm, UUIDListField

from .eligibility import Selection, select_batch_job, select_ids, select_matching
from .exports import QualityTier
from .models import TrainingFile, TrainingFileStatus

MATCHING = "matching"
_SEPARATORS = re.compile(r"[\s,;]+")


class StaleFilter(ValueError):
    pass


def conversation_filter(data, *, user) -> ConversationFilterForm:
    """The conversations list's filter form, over what ``data`` posts."""
    return ConversationFilterForm(data, user=user)


@dataclass
class Chosen:
    selection: Selection
    description: str
    hidden: list[tuple[str, str]]  # the fields that post the same choice again


class SelectionForm(forms.Form):
    """Exactly one way of choosing: ``ids`` (ticked rows), ``selection=matching`` with
    the list's filters, ``batch_job``, or ``id_text`` (ids pasted, any separators)."""

    ids = UUIDListField(required=False)
    selection = forms.ChoiceField(required=False, choices=[("", "Ids"), (MATCHING, "Matching")])
    batch_job = forms.UUIDField(required=False, widget=forms.HiddenInput)
    id_text = forms.CharField(
        required=False,
        label="Conversation ids",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Ids, one a line or comma-separated"}
        ),
    )

    def clean_id_text(self) -> list[uuid.UUID]:
        ids = []
        for value in _SEPARATORS.split(self.cleaned_data["id_text"].strip()):
            if not value:
                continue
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise forms.ValidationError(f"“{value}” is not a conversation id.") from None
        return ids

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:  # a choice that did not parse already says what is wrong
            return data
        chosen = [
            bool(data.get("ids")),
            data.get("selection") == MATCHING,
            data.get("batch_job") is not None,
            bool(data.get("id_text")),
        ]
        if sum(chosen) != 1:
            raise forms.ValidationError(
                "Choose conversations: tick rows, use a filter, a batch job, or paste ids."
            )
        return data

    def choose(self, *, user) -> Chosen:
        """The eligible conversations chosen (the rest counted). Raises
        ``ConversationsNotFound`` or ``BatchJobNotFound`` for ids not visible to ``user``,
        ``StaleFilter`` for a filter that no longer validates."""
        data = self.cleaned_data
        if data.get("selection") == MATCHING:
            filters = conversation_filter(self.data, user=user)
            if not filters.is_valid():
                # The list ignores a stale filter; a selection of "everything" must not.
                raise StaleFilter("The filter is not valid any more; choose again.")
            matching = filters.filter(Conversation.objects.visible_to(user))
            hidden = [("selection", MATCHING), *filters.active_filters().items()]
            return Chosen(
                select_matching(matching),
                f"All conversations matching {filters.description()}",
                hidden,
            )
        if data.get("batch_job") is not None:
            job_id = data["batch_job"]
            selection = select_batch_job(job_id, user=user)
            name = BatchJob.objects.filter(pk=job_id).values_list("name", flat=True).first()
            return Chosen(selection, f"The batch job “{name}”", [("batch_job", str(job_id))])
        ids = data.get("ids") or data.get("id_text")
        count = len(ids)
        return Chosen(
            select_ids(ids, user=user, strict=False),
            f"{count} selected conversation{'s' if count != 1 else ''}",
            [("ids", str(value)) for value in ids],
        )


class CreateForm(forms.Form):
    name = forms.CharField(max_length=255, label="Name")
    description = forms.CharField(
        required=False, label="Description", widget=forms.Textarea(attrs={"rows": 2})
    )
    approved_only = forms.BooleanField(
        required=False,
        label="Approved conversations only",
        help_text="Leave out conversations no one approved, now and whenever more are added.",
    )
    min_quality_tier = forms.ChoiceField(
        required=False,
        label="Minimum quality tier",
        choices=[("", "Any quality"), *QualityTier.choices],
        help_text="Leave out conversations below it, now and whenever more are added.",
    )
    validation_fraction = forms.FloatField(
        required=False,
        label="Validation split",
        min_value=0.01,
        max_value=0.99,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "e.g. 0.1"}),
        help_text="A fraction (0.1 is 10%) of the conversations put in a validation file, "
        "chosen by a stable hash of their ids; leave empty for no split.",
    )


class AddToForm(forms.Form):
    training_file = forms.ModelChoiceField(
        queryset=TrainingFile.objects.none(), label="Training file", empty_label=None
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["training_file"].queryset = (
            TrainingFile.objects.visible_to(user)
            .exclude(status=TrainingFileStatus.ARCHIVED)
            .order_by("name")
        )
