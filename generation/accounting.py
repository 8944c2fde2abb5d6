"""Attempts' names at the provider, and their usage added to the job's cost exactly once.

A result can be taken in twice (a poll repeated after a crash): ``bill`` locks the attempt
and adds its usage to the job's totals only the first time, in one transaction.
"""

import re
import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from . import pricing
from .models import GenerationAttempt, GenerationSettings, Mode
from .provider import Answer

# How the reason of a job paused for its budget begins (``generation.batches.submit``).
BUDGET_REACHED = "Budget reached"

_CUSTOM_ID = re.compile(r"^item-([0-9a-f]{32})-a([1-9][0-9]{0,3})$")


def custom_id(item_id: uuid.UUID, number: int) -> str:
    """``item-<item id hex>-a<attempt number>``: within the provider's 64 characters."""
    return f"item-{item_id.hex}-a{number}"


def parse_custom_id(value: str) -> tuple[uuid.UUID, int] | None:
    """The item id and attempt number a ``custom_id`` names, or None if it is not ours."""
    found = _CUSTOM_ID.match(value)
    if found is None:
        return None
    return uuid.UUID(found.group(1)), int(found.group(2))


def bill(attempt_id: uuid.UUID, answer: Answer) -> Decimal | None:
    """Record an answered attempt's tokens and cost and add them to its job's totals; the
    cost, or None when the attempt was billed before (nothing changes then)."""
    with transaction.atomic():
        attempt = (
            GenerationAttempt.objects.select_for_update().select_related("item").get(pk=attempt_id)
        )
        cost = charge(attempt, answer)
        if cost is not None:
            attempt.save(update_fields=["input_tokens", "output_tokens", "cost_usd", "billed"])
    return cost


def charge(attempt: GenerationAttempt, answer: Answer) -> Decimal | None:
    """``bill`` for an attempt its caller has locked (in its transaction) and saves: the
    usage set on it and added to its job's totals; None if it was billed before."""
    if attempt.billed:
        return None
    cost = pricing.cost(
        attempt.model, answer.input_tokens, answer.output_tokens, batch=attempt.mode == Mode.BATCH
    )
    attempt.input_tokens = answer.input_tokens
    attempt.output_tokens = answer.output_tokens
    attempt.cost_usd = cost
    attempt.billed = True
    GenerationSettings.objects.filter(batch_job_id=attempt.item.batch_job_id).update(
        cost_usd=F("cost_usd") + cost,
        input_tokens=F("input_tokens") + answer.input_tokens,
        output_tokens=F("output_tokens") + answer.output_tokens,
    )
    return cost


def budget_left(settings: GenerationSettings) -> Decimal | None:
    """USD the job may still spend (never below 0), None without a budget."""
    if settings.budget_usd is None:
        return None
    return max(settings.budget_usd - settings.cost_usd, Decimal(0))


def budget_reason(settings: GenerationSettings) -> str:
    """Why a job was paused for its budget (what ``paused_reason`` says)."""
    return (
        f"{BUDGET_REACHED}: {usd(settings.cost_usd)} USD spent of {usd(settings.budget_usd)}, "
        "and the next requests would pass it. Resume with a higher budget to go on."
    )


def usd(amount: Decimal) -> str:
    """An amount of USD for people, without trailing zeros: 0.5, not 0.500000000."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
