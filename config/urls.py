"""Every route of the service, in one place."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path, register_converter
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from config import views as config_views
from core import token_views
from core.api import errors as api_errors
from core.api import tokens as tokens_api
from core.converters import AnyCaseUUIDConverter
from enrichment.api import conversation_list as conversation_list_api
from enrichment.api import conversations as conversations_api
from enrichment.api import revisions as revisions_api
from enrichment.api import runs as runs_api
from enrichment.views import conversation_detail, conversation_list, jobs, runs
from enrichment.views import revisions as revision_views
from generation import control_views as generation_control_views
from generation import views as generation_views
from generation.api import control as generation_control_api
from generation.api import jobs as generation_api
from intake import views as intake_views
from intake.api import items as intake_items_api
from intake.api import jobs as intake_jobs_api
from review import views as review_views
from review.api import reviews as review_api
from training import views as training_views
from training.api import files as training_api

register_converter(AnyCaseUUIDConverter, "anyuuid")

# Swagger UI's start-up script is a file (the split view), but the UI sets inline styles
# as it renders: its page alone allows them (scripts stay the site's own files).
api_docs = csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", RedirectView.as_view(url="/batch-jobs/", permanent=False)),
    path("favicon.ico", config_views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Pages (HTMX; every interaction also works as a plain form post).
    path("batch-jobs/", intake_views.batch_job_list, name="batch-job-list"),
    path("batch-jobs/new/", intake_views.batch_job_new, name="batch-job-new"),
    path(
        "batch-jobs/new/preview/",
        intake_views.batch_job_new_preview,
        name="batch-job-new-preview",
    ),
    path("batch-jobs/generate/", generation_views.generate, name="batch-job-generate"),
    path(
        "batch-jobs/generate/preview/",
        generation_views.generate_preview,
        name="batch-job-generate-preview",
    ),
    path("batch-jobs/<anyuuid:pk>/", intake_views.batch_job_detail, name="batch-job-detail"),
    path(
        "batch-jobs/<anyuuid:pk>/progress/",
        intake_views.batch_job_progress,
        name="batch-job-progress",
    ),
    path(
        "batch-jobs/<anyuuid:pk>/generation/<slug:action>/",
        generation_control_views.generation_action,
        name="batch-job-generation-action",
    ),
    path("batch-jobs/<anyuuid:pk>/enrich/", jobs.batch_job_enrich, name="batch-job-enrich"),
    path(
        "batch-jobs/<anyuuid:pk>/enrichment/",
        jobs.batch_job_enrichment,
        name="batch-job-enrichment",
    ),
    path(
        "batch-jobs/<anyuuid:pk>/cancel-run/",
        jobs.batch_job_cancel_run,
        name="batch-job-cancel-run",
    ),
    path("conversations/", conversation_list.conversation_list, name="conversation-list"),
    path(
        "conversations/enrich/", conversation_list.conversation_enrich, name="conversation-enrich"
    ),
    path(
        "conversations/enrich-matching/",
        conversation_list.conversation_enrich_matching,
        name="conversation-enrich-matching",
    ),
    path(
        "conversations/<anyuuid:pk>/",
        conversation_detail.conversation_detail,
        name="conversation-detail",
    ),
    path(
        "conversations/<anyuuid:pk>/actions/",
        conversation_detail.conversation_action,
        name="conversation-action",
    ),
    path(
        "batch-jobs/<anyuuid:pk>/replace-failed/",
        revision_views.batch_job_replace,
        name="batch-job-replace-failed",
    ),
    path(
        "conversations/<anyuuid:pk>/edit/",
        revision_views.conversation_edit,
        name="conversation-edit",
    ),
    path(
        "conversations/<anyuuid:pk>/replace/",
        revision_views.conversation_replace,
        name="conversation-replace",
    ),
    path(
        "conversations/<anyuuid:pk>/revisions/",
        revision_views.revisions_panel,
        name="conversation-revisions",
    ),
    path(
        "conversations/<anyuuid:pk>/validation-report/",
        conversation_list.conversation_report,
        name="conversation-report",
    ),
    path("review/", review_views.review_page, name="review"),
    path("review/next/", review_views.review_next, name="review-next"),
    path("review/selected/", review_views.review_selected, name="review-selected"),
    path("review/<anyuuid:pk>/", review_views.review_show, name="review-show"),
    path("review/<anyuuid:pk>/act/", review_views.review_act, name="review-act"),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/<anyuuid:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<anyuuid:pk>/progress/", runs.run_progress, name="run-progress"),
    path("runs/<anyuuid:pk>/cancel/", runs.run_cancel, name="run-cancel"),
    path(
        "runs/<anyuuid:pk>/retry-failed/",
        runs.run_retry_failed,
        name="run-retry-failed",
    ),
    path("training-files/", training_views.training_file_list, name="training-file-list"),
    path("training-files/new/", training_views.training_file_new, name="training-file-new"),
    path(
        "training-files/create/",
        training_views.training_file_create,
        name="training-file-create",
    ),
    path("training-files/add/", training_views.training_file_add, name="training-file-add"),
    path(
        "training-files/<anyuuid:pk>/",
        training_views.training_file_detail,
        name="training-file-detail",
    ),
    path(
        "training-files/<anyuuid:pk>/progress/",
        training_views.training_file_progress,
        name="training-file-progress",
    ),
    path(
        "training-files/<anyuuid:pk>/rebuild/",
        training_views.training_file_rebuild,
        name="training-file-rebuild",
    ),
    path(
        "training-files/<anyuuid:pk>/remove/",
        training_views.training_file_remove,
        name="training-file-remove",
    ),
    path(
        "training-files/<anyuuid:pk>/archive/",
        training_views.training_file_archive,
        name="training-file-archive",
    ),
    path(
        "training-files/<anyuuid:pk>/delete/",
        training_views.training_file_delete,
        name="training-file-delete",
    ),
    path("account/api-tokens/", token_views.api_tokens, name="api-tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke/",
        token_views.api_token_revoke,
        name="api-token-revoke",
    ),
    # REST API (a public contract: the paths are pinned by tests).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/batch-jobs", intake_jobs_api.batch_jobs_view, name="api-batch-jobs"),
    path("api/batch-jobs/<anyuuid:job_id>", intake_jobs_api.batch_job_view, name="api-batch-job"),
    path(
        "api/batch-jobs/<anyuuid:job_id>/items",
        intake_jobs_api.batch_job_items_view,
        name="api-batch-job-items",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/complete",
        intake_jobs_api.complete_batch_job_view,
        name="api-batch-job-complete",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/fail",
        intake_jobs_api.fail_batch_job_view,
        name="api-batch-job-fail",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/cancel",
        generation_control_api.cancel_batch_job_view,
        name="api-batch-job-cancel",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/pause",
        generation_control_api.pause_generation_job_view,
        name="api-batch-job-pause",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/resume",
        generation_control_api.resume_generation_job_view,
        name="api-batch-job-resume",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/retry-failed-generations",
        generation_control_api.retry_failed_generations_view,
        name="api-batch-job-retry-failed-generations",
    ),
    path("api/generation-jobs", generation_api.generation_jobs_view, name="api-generation-jobs"),
    path(
        "api/generation-jobs/preview",
        generation_api.generation_preview_view,
        name="api-generation-preview",
    ),
    path(
        "api/conversations",
        conversation_list_api.conversation_list_view,
        name="api-conversations",
    ),
    path(
        "api/conversations/bulk-enrich",
        conversations_api.bulk_enrich_view,
        name="api-bulk-enrich",
    ),
    path("api/conversations/review", review_api.bulk_review_view, name="api-bulk-review"),
    path("api/review/queue", review_api.queue_view, name="api-review-queue"),
    path("api/review/next", review_api.next_view, name="api-review-next"),
    path(
        "api/conversations/<anyuuid:conversation_id>/review",
        review_api.review_view,
        name="api-review",
    ),
    path(
        "api/conversations/batch/<anyuuid:job_id>/items",
        intake_items_api.batch_items_view,
        name="api-batch-items",
    ),
    path(
        "api/conversations/batch/<anyuuid:job_id>/status",
        intake_items_api.batch_status_view,
        name="api-batch-status",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/enrich",
        conversations_api.enrich_view,
        name="api-enrich",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/validation-report",
        conversations_api.validation_report_view,
        name="api-validation-report",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/download/raw",
        conversations_api.download_raw_view,
        name="api-download-raw",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/download/enriched",
        conversations_api.download_enriched_view,
        name="api-download-enriched",
    ),
    path(
        "api/batch-jobs/<anyuuid:job_id>/replacements",
        revisions_api.replacements_view,
        name="api-batch-replacements",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/revisions",
        revisions_api.revisions_view,
        name="api-revisions",
    ),
    path(
        "api/conversations/<anyuuid:conversation_id>/revisions/<int:number>/raw",
        revisions_api.revision_raw_view,
        name="api-revision-raw",
    ),
    path("api/enrichment-runs", runs_api.runs_view, name="api-runs"),
    path("api/enrichment-runs/<anyuuid:run_id>", runs_api.run_view, name="api-run"),
    path(
        "api/enrichment-runs/<anyuuid:run_id>/items",
        runs_api.run_items_view,
        name="api-run-items",
    ),
    path(
        "api/enrichment-runs/<anyuuid:run_id>/cancel",
        runs_api.cancel_run_view,
        name="api-run-cancel",
    ),
    path(
        "api/enrichment-runs/<anyuuid:run_id>/retry-failed",
        runs_api.retry_failed_run_view,
        name="api-run-retry-failed",
    ),
    path("api/training-files", training_api.training_files_view, name="api-training-files"),
    path(
        "api/training-files/<anyuuid:training_file_id>",
        training_api.training_file_view,
        name="api-training-file",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/add-conversations",
        training_api.add_conversations_view,
        name="api-training-file-add",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/remove-conversations",
        training_api.remove_conversations_view,
        name="api-training-file-remove",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/rebuild",
        training_api.rebuild_view,
        name="api-training-file-rebuild",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/archive",
        training_api.archive_view,
        name="api-training-file-archive",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/unarchive",
        training_api.unarchive_view,
        name="api-training-file-unarchive",
    ),
    path(
        "api/training-files/<anyuuid:training_file_id>/download",
        training_api.download_view,
        name="api-training-file-download",
    ),
    path("api/tokens", tokens_api.tokens_view, name="api-tokens-list"),
    path("api/tokens/<int:token_id>", tokens_api.token_view, name="api-token"),
    # Anything else under /api/ is a 404 in the API's error shape.
    re_path(r"^api/", api_errors.not_found_view, name="api-not-found"),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
