"""The form of the "New batch job" page: files to import and how."""

from django import forms

from conversations.models import Tier


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class ConversationFilesField(forms.Field):
    """Several uploaded files; what is in them is checked by the import, file by file."""

    widget = MultipleFileInput(attrs={"accept": ".json,application/json", "multiple": True})
    default_error_messages = {"required": "Choose at least one conversation file."}

    def to_python(self, value) -> list:
        if not value:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]


class UploadForm(forms.Form):
    files = ConversationFilesField(label="Conversation files")
    name = forms.CharField(
        label="Name",
        max_length=255,
        required=False,
        help_text="Shown on every page; empty: “Upload” and the date.",
    )
    tier = forms.ChoiceField(label="Tier", choices=Tier.choices, initial=Tier.TEMPLATE)
    auto_enrich = forms.BooleanField(
        label="Enrich the conversations in the background once imported",
        required=False,
        initial=True,
    )
    allow_duplicates = forms.BooleanField(
        label="Import files whose content was imported before",
        required=False,
        help_text="Off: such files are listed and skipped.",
    )
