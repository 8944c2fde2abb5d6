"""The job engine's own upkeep, run by whichever worker is free (periodic tasks are
deferred once per period however many workers run)."""

import logging

from django.conf import settings
from procrastinate import builtin_tasks
from procrastinate.contrib.django import app

logger = logging.getLogger("core.background")


@app.periodic(cron="* * * * * */5")  # every 5 seconds (the sixth field is seconds)
@app.task(queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Queue again the jobs of workers that stopped beating (killed, out of memory, their
    machine or their database lost): they are picked up by another worker, or by the same
    one once its supervisor has restarted it."""
    jobs = await context.app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.WORKER_STALLED_SECONDS
    )
    for job in jobs:
        logger.warning(
            "Job %s (%s, try %d) was running on a worker that stopped; queued again",
            job.id,
            job.task_name,
            job.attempts + 1,
        )
        await context.app.job_manager.retry_job(job)
    return len(jobs)


@app.periodic(cron="17 * * * *")  # hourly
@app.task(queueing_lock="remove_old_jobs", pass_context=True)
async def remove_old_jobs(context, timestamp: int) -> None:
    """Finished jobs are kept ``JOBS_KEEP_HOURS`` for the admin, then deleted (succeeded
    ones are deleted at once by the workers)."""
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=settings.JOBS_KEEP_HOURS,
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )
