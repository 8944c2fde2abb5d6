"""The statements that make the scale data set (see ``devtools.scale``): one INSERT …
SELECT per table over a generated series (PostgreSQL's functions are in ``Dialect``). Row
values are derived from the row number by hashing, so the set is the same every time but
for the random conversation ids."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conversations.models import (
    BatchItemStatus,
    EmotionalArc,
    Persona,
    PromptTemplate,
    TrainingTopic,
)

STAFF_USERNAME = "scale-staff"
USER_USERNAME = "scale-user"
JOB_SIZE = 1000
BIG_JOB_ITEMS = 100_000
BIG_JOB_FAILED_PERCENT = 2
SMALL_RUNS = 40
SMALL_RUN_SIZE = 100
# Training files: one per FILE_EVERY conversations of an owner (the staff user's 2,000 at
# a million, the normal user's 200), each of FILE_MEMBERS completed conversations, and
# the staff user's big one holding the big job's completed conversations.
FILE_EVERY = 500
FILE_MEMBERS = 100
ARCHIVED_EVERY = 10
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
# Owner codes in derived ids.
STAFF, USER = 1, 2


def derived_id(kind: int, owner: int, number: int) -> uuid.UUID:
    """The id of the ``number``-th job (kind 1) or run (kind 2) of an owner; the same
    formula as ``Dialect.derived_id`` in SQL."""
    return uuid.UUID(hex=f"5ca1e{kind}{owner}0" + format(number, "024x"))


@dataclass(frozen=True)
class Dialect:
    """PostgreSQL's spelling of what the statements need."""

    def series(self, count: int) -> str:
        """A CTE ``g(n)`` of the numbers 1..count."""
        return f"g(n) AS (SELECT generate_series(CAST(1 AS bigint), {int(count)}))"

    @property
    def random_uuid(self) -> str:
        return "gen_random_uuid()"

    def uuid(self, value: uuid.UUID) -> str:
        return f"CAST('{value}' AS uuid)"

    def derived_id(self, kind: int, owner: str, number: str) -> str:
        prefix = f"'5ca1e{kind}' || ({owner}) || '0'"
        return f"CAST({prefix} || lpad(to_hex({number}), 24, '0') AS uuid)"

    def at(self, seconds: str) -> str:
        """The timestamp ``seconds`` after START."""
        return f"(TIMESTAMPTZ '{START.isoformat()}' + ({seconds}) * INTERVAL '1 second')"

    def json(self, value: str) -> str:
        return f"CAST('{value}' AS jsonb)"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS text)"


def hashed(n: str, multiplier: int) -> str:
    """A well-mixed number 0..65535 from the row number."""
    return f"((({n}) * {multiplier}) % 4294967296 / 65536)"


@dataclass(frozen=True)
class Plan:
    """How many rows of each kind a scale makes."""

    scale: int

    @property
    def rows(self) -> int:
        return self.scale + self.scale // 10

    @property
    def staff_rows(self) -> int:
        return self.rows - self.rows // 11

    @property
    def user_rows(self) -> int:
        return self.rows // 11

    @property
    def big_items(self) -> int:
        return min(BIG_JOB_ITEMS, max(self.scale // 10, 10))

    @property
    def big_conversations(self) -> int:
        return self.big_items * (100 - BIG_JOB_FAILED_PERCENT) // 100

    @property
    def staff_jobs(self) -> int:
        return -(-(self.staff_rows - self.big_conversations) // JOB_SIZE)

    @property
    def user_jobs(self) -> int:
        return -(-self.user_rows // JOB_SIZE)

    @property
    def staff_files(self) -> int:
        return max(self.staff_rows // FILE_EVERY, 4)

    @property
    def user_files(self) -> int:
        return max(self.user_rows // FILE_EVERY, 1)

    def seconds_of(self, n: int) -> int:
        return int(SPAN.total_seconds()) * n // self.rows


def _values(sql: Dialect, rows: list[tuple[uuid.UUID, str]]) -> str:
    return ", ".join(
        f"({k}, {sql.uuid(pk)}, '{label.replace(chr(39), chr(39) * 2)}')"
        for k, (pk, label) in enumerate(rows)
    )


def conversations_sql(sql: Dialect, plan: Plan, staff_id: int, user_id: int) -> str:
    personas = [(p.pk, p.name.split()[0]) for p in Persona.objects.order_by("persona_key")]
    topics = [(t.pk, t.name.lower()) for t in TrainingTopic.objects.order_by("topic_key")]
    arcs = [(a.pk, a.name) for a in EmotionalArc.objects.order_by("arc_key")]
    templates = [(t.pk, t.name) for t in PromptTemplate.objects.order_by("name")]
    span = int(SPAN.total_seconds())
    status = hashed("n", 2246822519) + " % 100"
    created = sql.at(f"{span} * n / {plan.rows}")
    return f"""
    WITH RECURSIVE {sql.series(plan.rows)},
      p(k, id, label) AS (VALUES {_values(sql, personas)}),
      t(k, id, label) AS (VALUES {_values(sql, topics)}),
      a(k, id, label) AS (VALUES {_values(sql, arcs)}),
      m(k, id, label) AS (VALUES {_values(sql, templates)}),
      r AS (
        SELECT n, {status} AS s, {hashed("n", 2654435761)} AS h, {hashed("n", 3266489917)} AS h3
        FROM g
      )
    INSERT INTO conversations (
      id, conversation_id, created_by_id, is_active, persona_id, emotional_arc_id,
      training_topic_id, template_id, tier, conversation_name, turn_count, quality_score,
      raw_response_path, raw_response_size, file_path, file_size, enriched_file_path,
      enriched_file_size, processing_status, enrichment_status, validation_report,
      normalization_report, enrichment_error, enrichment_error_category,
      enrichment_lease_expires_at, enrichment_claim_token, enrichment_status_before_claim,
      enriched_at, enrichment_version, created_at, updated_at, content_hash,
      review_status, reviewer_notes, revision
    )
    SELECT
      {sql.random_uuid}, {sql.random_uuid},
      CASE WHEN n % 11 = 0 THEN {user_id} ELSE {staff_id} END,
      n % 997 <> 0,
      p.id, a.id, t.id, m.id,
      CASE WHEN h % 10 < 6 THEN 'template' WHEN h % 10 < 9 THEN 'scenario' ELSE 'edge_case' END,
      p.label || ' ' || t.label || ' ' || {sql.text("n")},
      4 + h3 % 17,
      CASE WHEN h3 % 4 = 0 THEN NULL ELSE (h3 % 50) / 10.0 END,
      'raw/' || {sql.text("n")} || '.json', 3000 + h % 5000,
      'parsed/' || {sql.text("n")} || '.json', 2500 + h % 4000,
      CASE WHEN s < 70 THEN 'enriched/' || {sql.text("n")} || '.json' ELSE '' END,
      CASE WHEN s < 70 THEN 6000 + h % 8000 END,
      'completed',
      CASE WHEN s < 70 THEN 'completed' WHEN s < 94 THEN 'not_started'
           WHEN s < 97 THEN 'validation_failed' WHEN s < 98 THEN 'normalization_failed'
           ELSE 'enrichment_failed' END,
      NULL, NULL,
      CASE WHEN s >= 94 THEN 'turn ' || {sql.text("h % 9 + 1")} || ': content is empty' END,
      CASE WHEN s >= 98 THEN 'internal' WHEN s >= 97 THEN 'normalization'
           WHEN s >= 94 THEN 'validation' END,
      NULL, NULL, '',
      CASE WHEN s < 70 THEN {created} END,
      CASE WHEN s < 70 THEN '1.0' ELSE '' END,
      {created}, {created},
      md5({sql.text("n")}) || md5({sql.text("n + 1")}),
      CASE WHEN s < 70 THEN 'pending_review' END, '', 1
    FROM r
      JOIN p ON p.k = n % {len(personas)}
      JOIN t ON t.k = (n / 7) % {len(topics)}
      JOIN a ON a.k = (n / 3) % {len(arcs)}
      JOIN m ON m.k = (n / 5) % {len(templates)}
    ORDER BY n
    """


def items_sql(sql: Dialect, plan: Plan) -> str:
    """An item per conversation: the staff user's newest in the big job, the rest in jobs
    of JOB_SIZE, in the order the conversations were made."""
    first_big = plan.staff_rows - plan.big_conversations
    job_of = f"""CASE WHEN owner = {USER} THEN (ord - 1) / {JOB_SIZE} + 1
                      WHEN ord > {first_big} THEN 0 ELSE (ord - 1) / {JOB_SIZE} + 1 END"""
    position = f"""CASE WHEN owner = {STAFF} AND ord > {first_big} THEN ord - {first_big}
                        ELSE (ord - 1) % {JOB_SIZE} + 1 END"""
    return f"""
    WITH numbered AS (
      SELECT id, created_at, tier,
             CASE WHEN created_by_id = (SELECT id FROM auth_user WHERE username = '{USER_USERNAME}')
                  THEN {USER} ELSE {STAFF} END AS owner,
             row_number() OVER (PARTITION BY created_by_id ORDER BY created_at, id) AS ord
      FROM conversations
    )
    INSERT INTO batch_items (
      id, batch_job_id, position, topic, tier, parameters, status, conversation_id,
      error_message, created_at, updated_at
    )
    SELECT {sql.random_uuid}, {sql.derived_id(1, "owner", job_of)}, {position},
           'topic ' || {sql.text("ord % 40")}, tier, '{{}}', '{BatchItemStatus.COMPLETED}', id, '',
           created_at, created_at
    FROM numbered
    """


def failed_items_sql(sql: Dialect, plan: Plan) -> str:
    failed = plan.big_items - plan.big_conversations
    at = sql.at(str(int(SPAN.total_seconds())))
    return f"""
    WITH RECURSIVE {sql.series(failed)}
    INSERT INTO batch_items (
      id, batch_job_id, position, topic, tier, parameters, status, conversation_id,
      error_message, created_at, updated_at
    )
    SELECT {sql.random_uuid}, {sql.uuid(derived_id(1, STAFF, 0))}, {plan.big_conversations} + n,
           'topic ' || {sql.text("n % 40")}, 'template', '{{}}', '{BatchItemStatus.FAILED}', NULL,
           'generation failed: the model timed out', {at}, {at}
    FROM g
    """


def run_items_sql(sql: Dialect, run_id: uuid.UUID, job_id: uuid.UUID, limit: int | None) -> str:
    """The items of a finished run over a job's conversations (its first ``limit``)."""
    outcome = """CASE c.enrichment_status WHEN 'completed' THEN 'enriched'
                 WHEN 'not_started' THEN 'skipped' ELSE 'failed' END"""
    return f"""
    INSERT INTO enrichment_run_items (
      run_id, conversation_id, position, outcome, enrichment_status, error,
      error_category, reason, duration_ms, claim_token, processed_at
    )
    SELECT {sql.uuid(run_id)}, c.id, i.position, {outcome}, c.enrichment_status,
           c.enrichment_error, c.enrichment_error_category,
           CASE WHEN c.enrichment_status = 'not_started' THEN 'in_progress' END,
           1.5, NULL, c.updated_at
    FROM batch_items i JOIN conversations c ON c.id = i.conversation_id
    WHERE i.batch_job_id = {sql.uuid(job_id)}
      {f"AND i.position <= {limit}" if limit else ""}
    """


def training_files_sql(sql: Dialect, plan: Plan, staff_id: int, user_id: int) -> str:
    """The training files: the staff user's numbered 0 (the big one, the newest) to
    ``staff_files``, the normal user's 1 to ``user_files``; every tenth archived. Their
    member counts are set from their members (``TRAINING_FILE_COUNTS_SQL``)."""
    staff, files = plan.staff_files, plan.staff_files + 1 + plan.user_files
    span = int(SPAN.total_seconds())
    created = sql.at(f"{span} * CASE WHEN number = 0 THEN {files} ELSE n END / {files}")
    path = f"'training-files/' || {sql.text('owner')} || '-' || {sql.text('number')} || '/'"
    distribution = '{"personas": {}, "emotional_arcs": {}, "training_topics": {}}'
    return f"""
    WITH RECURSIVE {sql.series(files)},
      f AS (
        SELECT n, CASE WHEN n <= {staff + 1} THEN {STAFF} ELSE {USER} END AS owner,
               CASE WHEN n <= {staff + 1} THEN n - 1 ELSE n - {staff + 1} END AS number
        FROM g
      )
    INSERT INTO training_files (
      id, name, description, status, json_file_path, jsonl_file_path, chat_jsonl_file_path,
      storage_bucket, json_file_size, jsonl_file_size, chat_jsonl_file_size,
      conversation_count, total_training_pairs, avg_quality_score, min_quality_score,
      max_quality_score, human_reviewed_count, scaffolding_distribution, last_updated_at,
      build_generation, build_total, build_done, build_started_at, error,
      created_by_id, created_at, updated_at, approved_only, min_quality_tier, splits
    )
    SELECT {sql.derived_id(3, "owner", "number")},
           CASE WHEN number = 0 THEN 'Everything of the big generation'
                ELSE 'Training set ' || {sql.text("number")} END,
           '',
           CASE WHEN number % {ARCHIVED_EVERY} = {ARCHIVED_EVERY - 1} THEN 'archived'
                ELSE 'active' END,
           {path} || 'training.json', {path} || 'training.jsonl',
           {path} || 'training.chat.jsonl', 'training-files', 0, 0, 0,
           0, 0, 3.5, 1.0, 5.0, 0, {sql.json(distribution)}, {created},
           1, 0, 0, {created}, '', CASE owner WHEN {STAFF} THEN {staff_id} ELSE {user_id} END,
           {created}, {created}, false, '', {sql.json("{}")}
    FROM f
    """


def training_members_sql(sql: Dialect, plan: Plan) -> str:
    """The numbered files' members: each owner's completed conversations, oldest first,
    FILE_MEMBERS to a file."""
    last = f"""CASE owner WHEN {STAFF} THEN {plan.staff_files * FILE_MEMBERS}
               ELSE {plan.user_files * FILE_MEMBERS} END"""
    return f"""
    WITH numbered AS (
      SELECT conversation_id, created_by_id, enriched_at,
             CASE WHEN created_by_id = (SELECT id FROM auth_user WHERE username = '{USER_USERNAME}')
                  THEN {USER} ELSE {STAFF} END AS owner,
             row_number() OVER (PARTITION BY created_by_id ORDER BY created_at, id) AS ord
      FROM conversations
      WHERE enrichment_status = 'completed' AND is_active
    )
    INSERT INTO training_file_conversations (
      training_file_id, conversation_id, added_at, added_by_id
    )
    SELECT {sql.derived_id(3, "owner", f"(ord - 1) / {FILE_MEMBERS} + 1")}, conversation_id,
           enriched_at, created_by_id
    FROM numbered
    WHERE ord <= {last}
    ORDER BY owner, ord
    """


def big_file_members_sql(sql: Dialect, job_id: uuid.UUID) -> str:
    """The big training file: the big job's completed conversations, in item order."""
    return f"""
    INSERT INTO training_file_conversations (
      training_file_id, conversation_id, added_at, added_by_id
    )
    SELECT {sql.uuid(derived_id(3, STAFF, 0))}, c.conversation_id, c.enriched_at,
           c.created_by_id
    FROM batch_items i JOIN conversations c ON c.id = i.conversation_id
    WHERE i.batch_job_id = {sql.uuid(job_id)} AND c.enrichment_status = 'completed'
      AND c.is_active
    ORDER BY i.position
    """


# Every training file's counts from its members, as their last build left them.
TRAINING_FILE_COUNTS_SQL = [
    """UPDATE training_files SET conversation_count = (
         SELECT count(*) FROM training_file_conversations m
         WHERE m.training_file_id = training_files.id)""",
    """UPDATE training_files SET
         total_training_pairs = 9 * conversation_count,
         build_total = conversation_count, build_done = conversation_count,
         json_file_size = 31000 * conversation_count,
         jsonl_file_size = 24000 * conversation_count,
         chat_jsonl_file_size = 22000 * conversation_count""",
]


# Every run's counters from its items.
RUN_COUNTS_SQL = """
UPDATE enrichment_runs SET
  total = (SELECT count(*) FROM enrichment_run_items i WHERE i.run_id = enrichment_runs.id),
  enriched = (SELECT count(*) FROM enrichment_run_items i
              WHERE i.run_id = enrichment_runs.id AND i.outcome = 'enriched'),
  failed = (SELECT count(*) FROM enrichment_run_items i
            WHERE i.run_id = enrichment_runs.id AND i.outcome = 'failed'),
  skipped = (SELECT count(*) FROM enrichment_run_items i
             WHERE i.run_id = enrichment_runs.id AND i.outcome = 'skipped')
"""
