"""Indexes for the lists at any size: one per order of the conversations page (column,
created_at), the owner's own, the rows changed lately, a run's items in order, and a
trigram index for searching names (``UPPER(name) LIKE``, what
``icontains`` sends)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEX = "conv_name_trgm_idx"


def add_trigram_index(apps, schema_editor):
    schema_editor.execute(
        f"CREATE INDEX {TRIGRAM_INDEX} ON conversations "
        "USING gin ((UPPER(conversation_name::text)) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0008_conversation_content_hash"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="conversation",
            name="conv_enrichment_status_idx",
        ),
        migrations.RemoveIndex(
            model_name="conversation",
            name="conv_owner_created_idx",
        ),
        migrations.AlterField(
            model_name="conversation",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="conversation",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Owner; empty for rows created by the system.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="conversations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["created_at", "id", "is_active"], name="conv_created_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["enrichment_status", "created_at"], name="conv_status_created_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["created_by", "created_at", "id", "is_active"],
                name="conv_owner_created_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["conversation_name", "created_at"], name="conv_name_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["tier", "created_at"], name="conv_tier_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["turn_count", "created_at"], name="conv_turns_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["updated_at"], name="conv_updated_idx"),
        ),
        migrations.AddIndex(
            model_name="enrichmentrunitem",
            index=models.Index(fields=["run", "position"], name="run_item_position_idx"),
        ),
        # A no-op outside PostgreSQL, like the index after it.
        TrigramExtension(),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
