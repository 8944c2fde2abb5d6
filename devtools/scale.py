"""A large data set made fast, for the scale benchmark: set-based SQL (one INSERT … SELECT
per table over a generated series), not the ORM row by row.

What it makes, for ``scale`` = 1,000,000:

- a staff user owning 1,000,000 conversations and a normal user owning 100,000 more
  (every 11th row, so the two are interleaved in time);
- twenty personas (the demo's three and seventeen more), the demo's arcs, topics and
  templates;
- batch jobs: the staff user's newest is a completed job of 100,000 items (98,000 with a
  conversation, 2,000 failed), the rest of every owner's conversations are in jobs of
  1,000;
- enrichment runs: one over the big job (an item per conversation), and small ones;
- training files: the staff user's 2,000 and the normal user's 200, of 100 completed
  conversations each (every tenth archived), and the staff user's big one holding the big
  job's completed conversations (68,600);
- every job's conversation counts taken (``conversations.counts``), as a running service
  keeps them.

Conversations are spread over two years, 70% completed, 24% not started, 6% failed. No
conversation files are written: the list pages and list APIs never read them (paths are
stored, as for real rows). Ids of users, jobs and runs are derived from numbers, so that
SQL can compute them; conversation ids are random.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F

from conversations import counts
from conversations.imports import import_scaffolding
from conversations.models import BatchJob, BatchJobStatus, Persona
from enrichment.models import EnrichmentRun, RunSource, RunStatus
from training.models import TrainingFile

from .demo.generator import scaffolding_paths
from .scale_sql import (
    JOB_SIZE,
    RUN_COUNTS_SQL,
    SMALL_RUN_SIZE,
    SMALL_RUNS,
    SPAN,
    STAFF,
    STAFF_USERNAME,
    START,
    TRAINING_FILE_COUNTS_SQL,
    USER,
    USER_USERNAME,
    Dialect,
    Plan,
    big_file_members_sql,
    conversations_sql,
    derived_id,
    failed_items_sql,
    items_sql,
    run_items_sql,
    training_files_sql,
    training_members_sql,
)

FIRST_NAMES = [
    "Amara", "Bogdan", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Imani",
    "Jonas", "Keiko", "Luca", "Mireille", "Nikhil", "Olga", "Pedro", "Rosa",
]  # fmt: skip


@dataclass
class ScaleData:
    staff: object
    user: object
    big_job: BatchJob
    user_job: BatchJob
    small_job: BatchJob
    big_run: EnrichmentRun
    user_run: EnrichmentRun
    persona: Persona
    recent_job: BatchJob  # the staff user's newest job of JOB_SIZE
    big_file: TrainingFile  # the staff user's, of the big job's completed conversations
    user_file: TrainingFile


def existing(scale: int, *, say=print) -> ScaleData | None:
    """The data set of this scale if the database already holds it (one made before
    training files were part of it gets them now)."""
    users = get_user_model().objects
    staff = users.filter(username=STAFF_USERNAME).first()
    if staff is None or staff.first_name != str(scale):
        return None
    plan = Plan(scale)
    if not TrainingFile.objects.filter(created_by=staff).exists():
        sql = Dialect()
        _training_files(sql, plan, staff, users.get(username=USER_USERNAME), say)
        with connection.cursor() as cursor:
            for table in ("training_files", "training_file_conversations"):
                cursor.execute(f"ANALYZE {table}")
    return _loaded(plan)


def create(scale: int, *, say=print) -> ScaleData:
    """Make the data set in an empty database (see the module's docstring)."""
    plan = Plan(scale)
    sql = Dialect()
    users = get_user_model().objects
    if users.filter(username__in=[STAFF_USERNAME, USER_USERNAME]).exists():
        raise RuntimeError("The database already holds a scale data set of another size.")
    staff = users.create_superuser(STAFF_USERNAME, first_name=str(scale), password=None)
    user = users.create_user(USER_USERNAME, password=None)
    import_scaffolding(scaffolding_paths())
    Persona.objects.bulk_create(
        Persona(persona_key=f"scale_{name.lower()}", name=f"{name} Example") for name in FIRST_NAMES
    )
    _execute(conversations_sql(sql, plan, staff.pk, user.pk), say, "conversations")
    _jobs(plan, staff, user)
    _execute(items_sql(sql, plan), say, "batch items")
    _execute(failed_items_sql(sql, plan), say, "failed batch items")
    _runs(sql, plan, staff, user, say)
    _training_files(sql, plan, staff, user, say)
    started = datetime.now()
    jobs = list(BatchJob.objects.only("pk"))
    counts.recount(jobs)
    say(f"counted the conversations of {len(jobs):,} batch jobs in {_since(started)}")
    say("analyzing the tables")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return _loaded(plan)


def _execute(statement: str, say, what: str) -> None:
    started = datetime.now()
    with connection.cursor() as cursor:
        cursor.execute(statement)
        count = cursor.rowcount
    shown = f"{count:,} " if count >= 0 else ""
    say(f"inserted {shown}{what} in {_since(started)}")


def _since(started: datetime) -> str:
    return f"{(datetime.now() - started).total_seconds():.1f} s"


def _jobs(plan: Plan, staff, user) -> None:
    """The batch jobs, each created when its last conversation was."""

    def job(owner, code: int, number: int, size: int, last_row: int, name: str) -> BatchJob:
        created = START + timedelta(seconds=plan.seconds_of(last_row))
        return BatchJob(
            id=derived_id(1, code, number),
            name=name,
            status=BatchJobStatus.COMPLETED,
            total_items=size,
            completed_items=size,
            successful_items=size,
            created_by=owner,
            auto_enrich=False,
            started_at=created - timedelta(minutes=30),
            completed_at=created,
        )

    jobs = []
    staff_left = plan.staff_rows - plan.big_conversations
    for number in range(1, plan.staff_jobs + 1):
        size = min(JOB_SIZE, staff_left - (number - 1) * JOB_SIZE)
        last = number * JOB_SIZE
        jobs.append(job(staff, STAFF, number, size, last + last // 10, f"Generation {number:04d}"))
    big = job(staff, STAFF, 0, plan.big_items, plan.rows, "Generation: the big one")
    big.successful_items = plan.big_conversations
    big.failed_items = plan.big_items - plan.big_conversations
    jobs.append(big)
    for number in range(1, plan.user_jobs + 1):
        size = min(JOB_SIZE, plan.user_rows - (number - 1) * JOB_SIZE)
        jobs.append(job(user, USER, number, size, number * JOB_SIZE * 11, f"Sample {number:04d}"))
    BatchJob.objects.bulk_create(jobs, batch_size=1000)
    # ``created_at`` is set on insert (auto_now_add): put each job at its own time.
    BatchJob.objects.update(created_at=F("completed_at"), updated_at=F("completed_at"))


def _runs(sql: Dialect, plan: Plan, staff, user, say) -> None:
    """A finished run over the big job, small runs over other staff jobs, one of the
    normal user's."""
    runs = [(derived_id(2, STAFF, 0), staff, derived_id(1, STAFF, 0), None)]
    for number in range(1, min(SMALL_RUNS, plan.staff_jobs) + 1):
        runs.append((derived_id(2, STAFF, number), staff, derived_id(1, STAFF, number), 100))
    runs.append((derived_id(2, USER, 1), user, derived_id(1, USER, 1), SMALL_RUN_SIZE))
    finished = START + SPAN
    EnrichmentRun.objects.bulk_create(
        EnrichmentRun(
            id=run_id,
            created_by=owner,
            source=RunSource.PAGE,
            batch_job_id=job_id,
            description=f"Enrich All: {job_id}",
            status=RunStatus.COMPLETED,
            created_at=finished,
            started_at=finished,
            finished_at=finished,
        )
        for run_id, owner, job_id, _ in runs
    )
    for run_id, _, job_id, limit in runs:
        quiet = say if limit is None else (lambda line: None)
        _execute(
            run_items_sql(sql, run_id, job_id, limit), quiet, f"items of the run over {job_id}"
        )
    with connection.cursor() as cursor:
        cursor.execute(RUN_COUNTS_SQL)


def _training_files(sql: Dialect, plan: Plan, staff, user, say) -> None:
    _execute(training_files_sql(sql, plan, staff.pk, user.pk), say, "training files")
    _execute(training_members_sql(sql, plan), say, "training file members")
    big_job = derived_id(1, STAFF, 0)
    _execute(big_file_members_sql(sql, big_job), say, "members of the big training file")
    with connection.cursor() as cursor:
        for statement in TRAINING_FILE_COUNTS_SQL:
            cursor.execute(statement)


def _loaded(plan: Plan) -> ScaleData:
    users = get_user_model().objects
    return ScaleData(
        staff=users.get(username=STAFF_USERNAME),
        user=users.get(username=USER_USERNAME),
        big_job=BatchJob.objects.get(pk=derived_id(1, STAFF, 0)),
        user_job=BatchJob.objects.get(pk=derived_id(1, USER, 1)),
        small_job=BatchJob.objects.get(pk=derived_id(1, STAFF, 1)),
        big_run=EnrichmentRun.objects.get(pk=derived_id(2, STAFF, 0)),
        user_run=EnrichmentRun.objects.get(pk=derived_id(2, USER, 1)),
        persona=Persona.objects.get(name="Priya Raman"),
        recent_job=BatchJob.objects.get(pk=derived_id(1, STAFF, plan.staff_jobs)),
        big_file=TrainingFile.objects.get(pk=derived_id(3, STAFF, 0)),
        user_file=TrainingFile.objects.get(pk=derived_id(3, USER, 1)),
    )
