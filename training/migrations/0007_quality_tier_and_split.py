from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0006_approved_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="trainingfile",
            name="min_quality_tier",
            field=models.CharField(
                blank=True,
                choices=[
                    ("experimental", "Experimental or better (score ≥ 2.5, or none)"),
                    ("production", "Production or better (score ≥ 3.5)"),
                    ("seed_dataset", "Seed dataset (score ≥ 4.5)"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="trainingfile",
            name="validation_fraction",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="trainingfile",
            name="splits",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddConstraint(
            model_name="trainingfile",
            constraint=models.CheckConstraint(
                condition=models.Q(("validation_fraction__isnull", True))
                | models.Q(("validation_fraction__gt", 0), ("validation_fraction__lt", 1)),
                name="training_files_validation_fraction_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="trainingfile",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_quality_tier__in", ["", "experimental", "production", "seed_dataset"])
                ),
                name="training_files_min_quality_tier_valid",
            ),
        ),
    ]
