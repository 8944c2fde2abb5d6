"""Finding the rows a request names, as the caller may see them."""

import uuid

from core.errors import NotFound

from .models import BatchJob


class BatchJobNotFound(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__("Batch job not found.", missing=[job_id])


def find_batch_job(job_id: uuid.UUID | str, *, user) -> BatchJob:
    """The batch job ``job_id`` if ``user`` may see it (``None``: anyone may); raises
    ``BatchJobNotFound`` otherwise (an id that is not a UUID included)."""
    jobs = BatchJob.objects.all() if user is None else BatchJob.objects.visible_to(user)
    try:
        job = jobs.filter(pk=uuid.UUID(str(job_id))).first()
    except ValueError:
        job = None
    if job is None:
        raise BatchJobNotFound(str(job_id))
    return job
