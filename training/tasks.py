"""Background tasks (django.tasks): thin wrappers that fetch by id and call a service."""

import uuid

from django.tasks import task

from . import services


@task()
def build_training_file(*, training_file_id: str, generation: int) -> str:
    return services.run_build(uuid.UUID(training_file_id), generation)
