"""Batch jobs keep their conversations' counts (see ``intake.counts``); every job starts
uncounted and is counted when first shown."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('batches', '0002_batchjob_duplicate_items_and_counter_labels'),
    ]

    operations = [
        migrations.CreateModel(
            name='CountsSweep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('swept_until', models.DateTimeField()),
                ('refresh_requested_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'batch_counts_sweep',
            },
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_changed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_counted_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_enriched',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_failed',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_in_progress',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='batchjob',
            name='conversations_total',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
