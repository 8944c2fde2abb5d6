"""Training files left building by the version before the job engine are built by it:
their build is queued as an engine job."""

from django.db import migrations
from procrastinate import jobs, manager
from procrastinate.contrib.django.django_connector import DjangoConnector

BUILD_TASK = "training.tasks.build_training_file"


def resume_builds(apps, schema_editor):
    TrainingFile = apps.get_model("training", "TrainingFile")
    job_manager = manager.JobManager(DjangoConnector(alias=schema_editor.connection.alias))
    for pk, generation in TrainingFile.objects.filter(status="processing").values_list(
        "pk", "build_generation"
    ):
        job_manager.defer_job(
            jobs.Job(
                id=None,
                queue="default",
                lock=None,
                queueing_lock=None,
                task_name=BUILD_TASK,
                task_kwargs={"training_file_id": str(pk), "generation": generation},
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0003_engine_jobs_replace_attempts"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [migrations.RunPython(resume_builds, migrations.RunPython.noop)]
