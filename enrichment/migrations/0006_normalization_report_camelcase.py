"""Normalization reports use camelCase keys, like every JSON body of the API."""

from django.db import migrations

_RENAMES = {
    "control_characters_removed": "controlCharactersRemoved",
    "strings_nfc_normalized": "stringsNfcNormalized",
}


def _convert(report: dict, fixes_names: dict, size_from: str, size_to: str) -> dict:
    fixes = report.get("fixes")
    if isinstance(fixes, dict):
        report["fixes"] = {fixes_names.get(key, key): value for key, value in fixes.items()}
    if size_from in report:
        report[size_to] = report.pop(size_from)
    return report


def forwards(apps, schema_editor):
    Conversation = apps.get_model("enrichment", "Conversation")
    rows = Conversation.objects.filter(normalization_report__isnull=False).only(
        "pk", "normalization_report"
    )
    for conversation in rows.iterator(chunk_size=2000):
        report = conversation.normalization_report
        if isinstance(report, dict):
            Conversation.objects.filter(pk=conversation.pk).update(
                normalization_report=_convert(report, _RENAMES, "size_bytes", "sizeBytes")
            )


def backwards(apps, schema_editor):
    Conversation = apps.get_model("enrichment", "Conversation")
    back = {new: old for old, new in _RENAMES.items()}
    rows = Conversation.objects.filter(normalization_report__isnull=False).only(
        "pk", "normalization_report"
    )
    for conversation in rows.iterator(chunk_size=2000):
        report = conversation.normalization_report
        if isinstance(report, dict):
            Conversation.objects.filter(pk=conversation.pk).update(
                normalization_report=_convert(report, back, "sizeBytes", "size_bytes")
            )


class Migration(migrations.Migration):
    dependencies = [("enrichment", "0005_run_scope")]

    operations = [migrations.RunPython(forwards, backwards)]
