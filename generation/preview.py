"""What a generation request would do, before anything is created: how many items, the
first prompts as they will be sent, every problem, and the estimated cost in both modes."""

from collections.abc import Sequence

from django.conf import settings

from enrichment.pipeline.inputs import current_profile

from . import pricing, prompts
from .document import schema_chars


def system_prompt() -> str:
    """Exactly what every request sends as ``system``: the consultant profile's prompt."""
    return current_profile().system_prompt


def preview(
    *,
    persona_keys: Sequence[str],
    arc_keys: Sequence[str],
    topic_keys: Sequence[str],
    template_name: str | None = None,
    repeat: int = 1,
    mode: str | None = None,
    model: str | None = None,
    max_tokens: int | None = None,
    shown: int = 3,
) -> tuple[prompts.Plan, dict]:
    """The plan, and the API's preview body (``items``, ``prompts`` (the first ``shown``),
    ``problems``, ``estimate``). An unknown model raises ``pricing.UnknownModelPrice``."""
    mode = mode or settings.GENERATION_MODE
    model = model or settings.GENERATION_MODEL
    max_tokens = max_tokens or settings.GENERATION_MAX_TOKENS
    pricing.price(model)
    plan = prompts.plan(
        persona_keys,
        arc_keys,
        topic_keys,
        system=system_prompt(),
        template_name=template_name,
        repeat=repeat,
        max_items=settings.GENERATION_MAX_ITEMS,
    )
    estimate = pricing.estimate(
        model,
        ((p.system, p.text, p.target_turn_count) for p in plan.prompts),
        max_tokens=max_tokens,
        mode=mode,
        overhead_chars=schema_chars(),
    )
    body = {
        "items": plan.requested,
        "prompts": [prompt.as_preview() for prompt in plan.prompts[:shown]],
        "problems": [problem.as_dict() for problem in plan.problems],
        "estimate": estimate.as_dict(),
    }
    return plan, body
