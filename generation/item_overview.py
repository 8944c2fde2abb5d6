"""What a batch job's item list (``GET /api/batch-jobs/<id>/items``) shows of a generated
item: how many of its attempts the provider answered, and the stop reason and parse
method of the last one answered. Items fed from outside have no attempts: null."""

from django.db.models import Q

from .models import AttemptStatus

ANSWERED = frozenset(AttemptStatus.answered())
PREFETCH = ("generation_attempts",)

ATTEMPTS_SCHEMA = {
    "type": "integer",
    "nullable": True,
    "minimum": 0,
    "description": "Requests of the item the provider answered (any result); null for "
    "items not generated here.",
}
STOP_REASON_SCHEMA = {
    "type": "string",
    "nullable": True,
    "description": "The provider's stop_reason of the last answer (end_turn, max_tokens, "
    "refusal, ...); null before one, or for items not generated here.",
}
PARSE_METHOD_SCHEMA = {
    "type": "string",
    "nullable": True,
    "enum": ["direct", "repaired", None],
    "description": "How the last answer's text became a document: parsed directly or "
    "repaired; null when it was not parsed.",
}


def _answered(item) -> list:
    # The prefetched attempts (in number order): no query per item.
    return [a for a in item.generation_attempts.all() if a.status in ANSWERED]


def _last(item):
    answered = _answered(item)
    return answered[-1] if answered else None


def attempts(item) -> int | None:
    if not item.generation_attempts.all():
        return None
    return len(_answered(item))


def stop_reason(item) -> str | None:
    last = _last(item)
    return (last.stop_reason or None) if last else None


def parse_method(item) -> str | None:
    last = _last(item)
    return last.parse_method if last else None


# The job page ----------------------------------------------------------------------------

NOTABLE_ROWS = 50


def outcomes(job) -> dict:
    """What the Generation panel shows of the items: the last answer's stop reason and
    parse method counted over the job, and the items worth a look (failed, repaired, or
    answered more than once), the first ``NOTABLE_ROWS`` of them by position."""
    from .models import GenerationAttempt

    last = (
        GenerationAttempt.objects.filter(item__batch_job=job, status__in=ANSWERED)
        .order_by("item_id", "-number")
        .distinct("item_id")
        .values_list("item_id", "stop_reason", "parse_method", "number")
    )
    stop_reasons: dict[str, int] = {}
    parse_methods: dict[str, int] = {}
    answers = {}
    for item_id, reason, method, number in last:
        stop_reasons[reason or "none"] = stop_reasons.get(reason or "none", 0) + 1
        parse_methods[method or "not parsed"] = parse_methods.get(method or "not parsed", 0) + 1
        answers[item_id] = (reason, method, number)
    answered_again = [pk for pk, (_, method, n) in answers.items() if n > 1 or method == "repaired"]
    notable = list(
        job.items.filter(Q(pk__in=answered_again) | Q(status="failed"))
        .select_related("conversation")
        .order_by("position")[:NOTABLE_ROWS]
    )
    rows = [
        {
            "item": item,
            "stop_reason": answers.get(item.pk, (None,))[0],
            "parse_method": answers.get(item.pk, (None, None))[1],
            "attempts": answers.get(item.pk, (None, None, 0))[2],
        }
        for item in notable
    ]
    return {
        "stop_reasons": sorted(stop_reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "parse_methods": sorted(parse_methods.items(), key=lambda kv: (-kv[1], kv[0])),
        "rows": rows,
        "more": NOTABLE_ROWS if len(rows) == NOTABLE_ROWS else None,
    }
