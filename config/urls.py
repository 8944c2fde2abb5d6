"""Every route of the service, in one place."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from config import views as config_views
from core import token_views
from core.api import errors as api_errors
from enrichment.api import conversations as conversations_api
from enrichment.api import runs as runs_api
from enrichment.views import conversation_detail, conversation_list, jobs, runs
from generation import api as generation_api
from generation import views as generation_views
from intake import views as intake_views
from intake.api import items as intake_items_api
from intake.api import jobs as intake_jobs_api
from training import views as training_views
from training.api import files as training_api

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
    path("batch-jobs/<uuid:pk>/", intake_views.batch_job_detail, name="batch-job-detail"),
    path(
        "batch-jobs/<uuid:pk>/progress/",
        intake_views.batch_job_progress,
        name="batch-job-progress",
    ),
    path("batch-jobs/<uuid:pk>/enrich/", jobs.batch_job_enrich, name="batch-job-enrich"),
    path(
        "batch-jobs/<uuid:pk>/enrichment/",
        jobs.batch_job_enrichment,
        name="batch-job-enrichment",
    ),
    path(
        "batch-jobs/<uuid:pk>/cancel-run/",
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
        "conversations/<uuid:pk>/",
        conversation_detail.conversation_detail,
        name="conversation-detail",
    ),
    path(
        "conversations/<uuid:pk>/actions/",
        conversation_detail.conversation_action,
        name="conversation-action",
    ),
    path(
        "conversations/<uuid:pk>/validation-report/",
        conversation_list.conversation_report,
        name="conversation-report",
    ),
    path("runs/", runs.run_list, name="run-list"),
    path("runs/<uuid:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<uuid:pk>/progress/", runs.run_progress, name="run-progress"),
    path("runs/<uuid:pk>/cancel/", runs.run_cancel, name="run-cancel"),
    path(
        "runs/<uuid:pk>/retry-failed/",
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
        "training-files/<uuid:pk>/",
        training_views.training_file_detail,
        name="training-file-detail",
    ),
    path(
        "training-files/<uuid:pk>/progress/",
        training_views.training_file_progress,
        name="training-file-progress",
    ),
    path(
        "training-files/<uuid:pk>/rebuild/",
        training_views.training_file_rebuild,
        name="training-file-rebuild",
    ),
    path(
        "training-files/<uuid:pk>/remove/",
        training_views.training_file_remove,
        name="training-file-remove",
    ),
    path(
        "training-files/<uuid:pk>/archive/",
        training_views.training_file_archive,
        name="training-file-archive",
    ),
    path(
        "training-files/<uuid:pk>/delete/",
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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/batch-jobs", intake_jobs_api.batch_jobs_view, name="api-batch-jobs"),
    path("api/batch-jobs/<uuid:job_id>", intake_jobs_api.batch_job_view, name="api-batch-job"),
    path(
        "api/batch-jobs/<uuid:job_id>/items",
        intake_jobs_api.batch_job_items_view,
        name="api-batch-job-items",
    ),
    path(
        "api/batch-jobs/<uuid:job_id>/complete",
        intake_jobs_api.complete_batch_job_view,
        name="api-batch-job-complete",
    ),
    path(
        "api/batch-jobs/<uuid:job_id>/fail",
        intake_jobs_api.fail_batch_job_view,
        name="api-batch-job-fail",
    ),
    path(
        "api/batch-jobs/<uuid:job_id>/cancel",
        intake_jobs_api.cancel_batch_job_view,
        name="api-batch-job-cancel",
    ),
    path("api/generation-jobs", generation_api.generation_jobs_view, name="api-generation-jobs"),
    path(
        "api/generation-jobs/preview",
        generation_api.generation_preview_view,
        name="api-generation-preview",
    ),
    path(
        "api/conversations/bulk-enrich",
        conversations_api.bulk_enrich_view,
        name="api-bulk-enrich",
    ),
    path(
        "api/conversations/batch/<uuid:job_id>/items",
        intake_items_api.batch_items_view,
        name="api-batch-items",
    ),
    path(
        "api/conversations/batch/<uuid:job_id>/status",
        intake_items_api.batch_status_view,
        name="api-batch-status",
    ),
    path(
        "api/conversations/<uuid:conversation_id>/enrich",
        conversations_api.enrich_view,
        name="api-enrich",
    ),
    path(
        "api/conversations/<uuid:conversation_id>/validation-report",
        conversations_api.validation_report_view,
        name="api-validation-report",
    ),
    path(
        "api/conversations/<uuid:conversation_id>/download/raw",
        conversations_api.download_raw_view,
        name="api-download-raw",
    ),
    path(
        "api/conversations/<uuid:conversation_id>/download/enriched",
        conversations_api.download_enriched_view,
        name="api-download-enriched",
    ),
    path("api/enrichment-runs", runs_api.start_run_view, name="api-runs"),
    path("api/enrichment-runs/<uuid:run_id>", runs_api.run_view, name="api-run"),
    path(
        "api/enrichment-runs/<uuid:run_id>/items",
        runs_api.run_items_view,
        name="api-run-items",
    ),
    path(
        "api/enrichment-runs/<uuid:run_id>/cancel",
        runs_api.cancel_run_view,
        name="api-run-cancel",
    ),
    path(
        "api/enrichment-runs/<uuid:run_id>/retry-failed",
        runs_api.retry_failed_run_view,
        name="api-run-retry-failed",
    ),
    path("api/training-files", training_api.training_files_view, name="api-training-files"),
    path(
        "api/training-files/<uuid:training_file_id>",
        training_api.training_file_view,
        name="api-training-file",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/add-conversations",
        training_api.add_conversations_view,
        name="api-training-file-add",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/remove-conversations",
        training_api.remove_conversations_view,
        name="api-training-file-remove",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/rebuild",
        training_api.rebuild_view,
        name="api-training-file-rebuild",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/archive",
        training_api.archive_view,
        name="api-training-file-archive",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/unarchive",
        training_api.unarchive_view,
        name="api-training-file-unarchive",
    ),
    path(
        "api/training-files/<uuid:training_file_id>/download",
        training_api.download_view,
        name="api-training-file-download",
    ),
    # Anything else under /api/ is a 404 in the API's error shape.
    re_path(r"^api/", api_errors.not_found_view, name="api-not-found"),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
