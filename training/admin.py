"""The admin: training files browsable (with rebuild and archive), and "Add to a training
file…" on selected conversations.

The conversation action is added here, not in the enrichment app (which never depends on
training files): the conversation admin is registered again as a subclass that adds it.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import Conversation
from enrichment.admin import ConversationAdmin as EnrichmentConversationAdmin
from enrichment.admin import badge

from . import services
from .eligibility import select_matching
from .models import FileFormat, TrainingFile, TrainingFileStatus

CHANGE_PERMISSION = "training.change_trainingfile"
# Members listed on a training file's admin page; the rest are counted.
MEMBERS_SHOWN = 20

_TONES = {
    TrainingFileStatus.ACTIVE: "green",
    TrainingFileStatus.PROCESSING: "blue",
    TrainingFileStatus.FAILED: "red",
    TrainingFileStatus.ARCHIVED: "grey",
}


def page_link(training_file: TrainingFile) -> SafeString:
    url = reverse("training-file-detail", args=[training_file.pk])
    return format_html('<a href="{}">{}</a>', url, training_file.name)


@admin.register(TrainingFile)
class TrainingFileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "created_by",
        "status_badge",
        "conversation_count",
        "total_training_pairs",
        "avg_quality_score",
        "last_updated_at",
    ]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["name", "id__exact"]
    actions = ["rebuild_selected", "archive_selected"]
    fields = [
        "name",
        "description",
        ("approved_only", "min_quality_tier", "validation_fraction"),
        "created_by",
        "status_badge",
        "error",
        "build_progress",
        "downloads",
        "conversation_count",
        "total_training_pairs",
        ("avg_quality_score", "min_quality_score", "max_quality_score"),
        "human_reviewed_count",
        "scaffolding_distribution",
        "members",
        ("json_file_path", "json_file_size"),
        ("jsonl_file_path", "jsonl_file_size"),
        ("chat_jsonl_file_path", "chat_jsonl_file_size"),
        "last_updated_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if isinstance(name, str)] + [
        "approved_only",
        "min_quality_tier",
        "validation_fraction",
        "avg_quality_score",
        "min_quality_score",
        "max_quality_score",
        "json_file_path",
        "json_file_size",
        "jsonl_file_path",
        "jsonl_file_size",
        "chat_jsonl_file_path",
        "chat_jsonl_file_size",
    ]

    # Training files are made from conversations (pages, API, the conversation action,
    # the command line), and written by their builds.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def view_on_site(self, obj: TrainingFile) -> str:
        return reverse("training-file-detail", args=[obj.pk])

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: TrainingFile) -> SafeString:
        return badge(obj.get_status_display(), _TONES.get(obj.status, "grey"), value=obj.status)

    @admin.display(description="Build")
    def build_progress(self, obj: TrainingFile) -> str:
        if not obj.is_processing:
            return "-"
        done = f"{obj.build_done} of {obj.build_total} conversations ({obj.build_percent}%)"
        if obj.waiting_for_worker:
            return f"{done}; waiting for a worker: none is running"
        return done

    @admin.display(description="Download")
    def downloads(self, obj: TrainingFile) -> str:
        if not obj.is_built:
            return "Not built yet"
        base = f"/api/training-files/{obj.pk}/download?format="
        return format_html_join(
            " · ",
            '<a href="{}{}">{}</a>',
            ((base, value, value.label) for value in FileFormat),
        )

    @admin.display(description="Conversations")
    def members(self, obj: TrainingFile) -> str:
        memberships = obj.memberships.select_related("conversation").order_by("id")
        total = memberships.count()
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> <code>{}</code></li>',
            (
                (
                    reverse("admin:conversations_conversation_change", args=[m.conversation.pk]),
                    m.conversation.display_name,
                    m.conversation_id,
                )
                for m in memberships[:MEMBERS_SHOWN]
            ),
        )
        more = f"… and {total - MEMBERS_SHOWN} more" if total > MEMBERS_SHOWN else ""
        return format_html(
            "<p>{} in all ({})</p><ul>{}</ul><p>{}</p>", total, page_link(obj), rows, more
        )

    def delete_model(self, request: HttpRequest, obj: TrainingFile) -> None:
        services.delete_training_file(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrainingFile]) -> None:
        for training_file in queryset:
            services.delete_training_file(training_file)

    @admin.action(description="Rebuild selected training files", permissions=["change"])
    def rebuild_selected(self, request: HttpRequest, queryset: QuerySet[TrainingFile]) -> None:
        self._each(request, queryset, services.rebuild_training_file, "Rebuilding")

    @admin.action(description="Archive selected training files", permissions=["change"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[TrainingFile]) -> None:
        self._each(request, queryset, services.archive_training_file, "Archived")

    def _each(self, request: HttpRequest, queryset, change, done_verb: str) -> None:
        """``change`` applied to each selected file; a file that refuses is named with why."""
        done, problems = 0, []
        for training_file in queryset:
            try:
                change(training_file)
                done += 1
            except services.TrainingFileError as exc:
                problems.append(f"{training_file.name}: {exc}")
        self.message_user(request, f"{done_verb} {done} training file{pluralize(done)}.")
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)


class AddToTrainingFileForm(forms.Form):
    training_file = forms.ModelChoiceField(
        queryset=TrainingFile.objects.exclude(status=TrainingFileStatus.ARCHIVED).order_by("name"),
        required=False,
        label="An existing training file",
        empty_label="— a new one —",
    )
    name = forms.CharField(max_length=255, required=False, label="or a new one named")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("training_file")) == bool((data.get("name") or "").strip()):
            raise forms.ValidationError("Choose an existing training file or name a new one.")
        return data


admin.site.unregister(Conversation)


@admin.register(Conversation)
class ConversationAdmin(EnrichmentConversationAdmin):
    actions = [*EnrichmentConversationAdmin.actions, "add_to_training_file"]

    def has_training_file_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_PERMISSION)

    @admin.action(description="Add to a training file…", permissions=["training_file"])
    def add_to_training_file(self, request: HttpRequest, queryset: QuerySet[Conversation]):
        form = AddToTrainingFileForm(request.POST if "post" in request.POST else None)
        if request.POST.get("post") != "yes" or not form.is_valid():
            return self._add_to_training_file_page(request, queryset, form)
        selection = select_matching(queryset.filter(is_active=True))
        target = form.cleaned_data["training_file"]
        try:
            if target:
                change = services.add_conversations(target, selection, user=request.user)
            else:
                change = services.create_training_file(
                    name=form.cleaned_data["name"], user=request.user, selection=selection
                )
        except services.TrainingFileError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        self.message_user(request, _report(change), messages.SUCCESS)
        return None

    def _add_to_training_file_page(
        self, request: HttpRequest, queryset: QuerySet[Conversation], form: AddToTrainingFileForm
    ) -> TemplateResponse:
        selection = select_matching(queryset.filter(is_active=True))
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "Add conversations to a training file",
            "opts": self.model._meta,
            "selected_count": queryset.count(),
            "eligible": len(selection.pks),
            "left_out": selection.left_out,
            "form": form,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across") == "1",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": "add_to_training_file",
            "media": self.media,
        }
        return TemplateResponse(request, "admin/training/add_to_training_file.html", context)


def _report(change: services.Change) -> SafeString:
    training_file = change.training_file
    parts = [f"Added {len(change.added)} conversation{pluralize(len(change.added))} to"]
    already = len(change.already_included)
    note = f" {already} {'was' if already == 1 else 'were'} already in it." if already else ""
    if change.left_out:
        note += (
            f" {change.left_out} selected conversation{pluralize(change.left_out)} "
            f"{'was' if change.left_out == 1 else 'were'} not completed with an enriched file "
            "and left out."
        )
    building = " It is being built in the background." if change.background else ""
    return format_html(
        '{} {} (<a href="{}">admin</a>).{}{}',
        parts[0],
        page_link(training_file),
        reverse("admin:training_trainingfile_change", args=[training_file.pk]),
        note,
        building,
    )
