"""HTML pieces the admin pages share: status badges and report tables (styled by
``static/admin/css/enrichment.css``)."""

import json

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import EnrichmentStatus, ErrorCategory
from enrichment.models import EnrichmentRun, RunStatus

# Loaded by every ModelAdmin that shows badges.
ADMIN_CSS = {"all": ["admin/css/enrichment.css"]}

_STATUS_TONES = {
    EnrichmentStatus.COMPLETED: "green",
    EnrichmentStatus.VALIDATION_FAILED: "red",
    EnrichmentStatus.NORMALIZATION_FAILED: "red",
    EnrichmentStatus.ENRICHMENT_FAILED: "red",
    EnrichmentStatus.IN_PROGRESS: "blue",
    EnrichmentStatus.VALIDATED: "amber",
    EnrichmentStatus.ENRICHED: "amber",
}
_RUN_TONES = {
    RunStatus.QUEUED: "amber",
    RunStatus.RUNNING: "blue",
    RunStatus.COMPLETED: "green",
    RunStatus.CANCELLED: "grey",
    RunStatus.FAILED: "red",
}


def badge(label: str, tone: str, *, value: str = "") -> SafeString:
    return format_html(
        '<span class="status-badge status-badge--{}" data-tone="{}">{}</span>', value, tone, label
    )


def enrichment_status_badge(status: str) -> SafeString:
    label = EnrichmentStatus(status).label if status in EnrichmentStatus.values else status
    return badge(label, _STATUS_TONES.get(status, "grey"), value=status)


def run_status_badge(run: EnrichmentRun) -> SafeString:
    return badge(run.get_status_display(), _RUN_TONES.get(run.status, "grey"), value=run.status)


def error_category_label(category: str | None) -> str:
    if not category:
        return "Uncategorised"
    return ErrorCategory(category).label if category in ErrorCategory.values else category


def truncated(text: str) -> SafeString:
    """Long text cut to one line in a change list, the whole of it in a tooltip."""
    return format_html('<span class="truncate" title="{0}">{0}</span>', text)


def short_datetime(value) -> str:
    """A change list's date: ``2026-11-29 21:23`` (the admin's default is twice as wide)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def preformatted(text: str) -> SafeString:
    return format_html('<span class="preformatted">{}</span>', text)


def report_issues(report: dict, *keys: str) -> SafeString:
    """The issues of a validation or normalization report as a table ('' when none)."""
    severities = {"blockers": "blocker", "warnings": "warning", "errors": "error"}
    rows = [
        (severities[key], issue)
        for key in keys
        for issue in report.get(key) or []
        if isinstance(issue, dict)
    ]
    if not rows:
        return SafeString("")
    return format_html(
        '<table class="report-issues"><thead><tr><th>Severity</th><th>Code</th>'
        "<th>Field</th><th>Message</th><th>Suggestion</th></tr></thead><tbody>{}</tbody>"
        "</table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    severity,
                    issue.get("code", ""),
                    issue.get("field", ""),
                    issue.get("message", ""),
                    issue.get("suggestion", ""),
                )
                for severity, issue in rows
            ),
        ),
    )


def raw_json(value) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))
