"""Unfinished runs of the version before the job engine are picked up by it: what their
lanes held is given back, and their lanes are queued as engine jobs."""

import math

from django.conf import settings
from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from procrastinate import jobs, manager
from procrastinate.contrib.django.django_connector import DjangoConnector

LANE_TASK = "enrichment.tasks.enrich_run_lane"


def resume_unfinished_runs(apps, schema_editor):
    Run = apps.get_model("enrichment", "EnrichmentRun")
    Item = apps.get_model("enrichment", "EnrichmentRunItem")
    Conversation = apps.get_model("enrichment", "Conversation")
    job_manager = manager.JobManager(DjangoConnector(alias=schema_editor.connection.alias))
    now = timezone.now()
    for run in Run.objects.filter(status__in=["queued", "running"]):
        pending = Item.objects.filter(run=run, outcome="pending")
        tokens = list(
            pending.filter(claim_token__isnull=False).values_list("claim_token", flat=True).distinct()
        )
        if tokens:
            Conversation.objects.filter(
                enrichment_claim_token__in=tokens, enrichment_status="enrichment_in_progress"
            ).update(
                enrichment_status=Coalesce(
                    NullIf(F("enrichment_status_before_claim"), Value("")),
                    Value("not_started"),
                ),
                enrichment_lease_expires_at=None,
                enrichment_claim_token=None,
                updated_at=now,
            )
            pending.update(claim_token=None)
        chunks = math.ceil(pending.count() / settings.ENRICHMENT_RUN_CHUNK_SIZE)
        for _ in range(max(1, min(settings.ENRICHMENT_RUN_LANES, chunks))):
            job_manager.defer_job(
                jobs.Job(
                    id=None,
                    queue="default",
                    lock=None,
                    queueing_lock=None,
                    task_name=LANE_TASK,
                    task_kwargs={"run_id": str(run.pk)},
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0011_engine_jobs_replace_lanes"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [migrations.RunPython(resume_unfinished_runs, migrations.RunPython.noop)]
