"""Creating a generation job: one item per persona × arc × topic × repeat, each with its
first attempt waiting to be sent, the job's settings and estimate, all in one transaction,
or nothing at all with every reason named."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import transaction

from conversations.models import BatchItem, BatchItemStatus, BatchJob, BatchJobStatus, Tier
from core.errors import DomainError

from . import accounting
from .models import AttemptStatus, GenerationAttempt, GenerationSettings, Mode
from .preview import preview
from .prompts import Plan, Prompt


class GenerationProblems(DomainError):
    """The request names combinations that cannot be generated: nothing was created."""

    code = "generation_problems"

    def __init__(self, problems: list[dict]) -> None:
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} stop this generation job; "
            "nothing was created."
        )
        self.problems = problems

    def fields(self) -> dict:
        return {"details": {"problems": self.problems}}


class BudgetTooLow(DomainError):
    code = "budget_too_low"

    def __init__(self, budget: Decimal, estimate: dict) -> None:
        super().__init__(
            f"The budget of {budget} USD is below the estimated cost of "
            f"{estimate['costUsd']} USD; nothing was created."
        )
        self.estimate = estimate

    def fields(self) -> dict:
        return {"estimate": self.estimate}


@dataclass(frozen=True)
class GenerationRequest:
    name: str
    persona_keys: list[str]
    arc_keys: list[str]
    topic_keys: list[str]
    template_name: str | None = None
    repeat: int = 1
    mode: str | None = None
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    budget_usd: Decimal | None = None
    auto_enrich: bool = True

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in Mode.values:
            raise DomainError(f"mode must be one of {', '.join(Mode.values)}, not {self.mode!r}.")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise DomainError("maxTokens must be at least 1.")
        if self.temperature is not None and not 0 <= self.temperature <= 1:
            raise DomainError("temperature must be between 0 and 1.")
        if self.budget_usd is not None and self.budget_usd < 0:
            raise DomainError("budgetUsd must not be negative.")
        if not self.name.strip():
            raise DomainError("name must not be blank.")

    def preview(self, *, shown: int = 3) -> tuple[Plan, dict]:
        """What this request would create (``generation.preview.preview``), the settings it
        leaves out taken from the defaults."""
        return preview(
            persona_keys=self.persona_keys,
            arc_keys=self.arc_keys,
            topic_keys=self.topic_keys,
            template_name=self.template_name,
            repeat=self.repeat,
            mode=self.mode,
            model=self.model,
            max_tokens=self.max_tokens,
            shown=shown,
        )


def create_generation_job(owner, request: GenerationRequest) -> BatchJob:
    """The new job (``queued``), its items and their first attempts. Raises
    ``GenerationProblems`` (400, ``details.problems``), ``BudgetTooLow`` (400, with the
    estimate) or ``pricing.UnknownModelPrice``; nothing is created then."""
    mode = request.mode or django_settings.GENERATION_MODE
    model = request.model or django_settings.GENERATION_MODEL
    max_tokens = request.max_tokens or django_settings.GENERATION_MAX_TOKENS
    plan, body = request.preview(shown=0)
    if body["problems"]:
        raise GenerationProblems(body["problems"])
    estimate = body["estimate"]
    if request.budget_usd is not None and request.budget_usd < estimate["costUsd"]:
        raise BudgetTooLow(request.budget_usd, estimate)
    with transaction.atomic():
        job = BatchJob.objects.create(
            name=request.name.strip(),
            job_type="generation",
            status=BatchJobStatus.QUEUED,
            created_by=owner,
            auto_enrich=request.auto_enrich,
            tier=Tier.TEMPLATE,
            total_items=len(plan.prompts),
            shared_parameters={"templateName": request.template_name}
            if request.template_name
            else {},
        )
        first = plan.prompts[0]
        GenerationSettings.objects.create(
            batch_job=job,
            mode=mode,
            model=model,
            max_tokens=max_tokens,
            temperature=request.temperature,
            template=first.template if request.template_name else None,
            template_name=request.template_name or "",
            system_prompt=first.system,
            repeat=request.repeat,
            budget_usd=request.budget_usd,
            estimated_cost_usd=estimate["costUsd"],
        )
        items = BatchItem.objects.bulk_create(
            [_item(job, prompt, position) for position, prompt in enumerate(plan.prompts, 1)],
            batch_size=1000,
        )
        GenerationAttempt.objects.bulk_create(
            [
                GenerationAttempt(
                    item=item,
                    number=1,
                    custom_id=accounting.custom_id(item.pk, 1),
                    mode=mode,
                    status=AttemptStatus.PENDING,
                    model=model,
                    template=prompt.template,
                    prompt=prompt.text,
                    prompt_hash=prompt.prompt_hash,
                )
                for item, prompt in zip(items, plan.prompts, strict=True)
            ],
            batch_size=1000,
        )
    return job


def _item(job: BatchJob, prompt: Prompt, position: int) -> BatchItem:
    return BatchItem(
        batch_job=job,
        position=position,
        topic=prompt.topic.name[:255],
        tier=job.tier,
        status=BatchItemStatus.QUEUED,
        # The original's parameters, and the keys the API shows.
        parameters={
            "templateId": str(prompt.template.pk),
            "persona_id": str(prompt.persona.pk),
            "emotional_arc_id": str(prompt.arc.pk),
            "training_topic_id": str(prompt.topic.pk),
            "personaKey": prompt.persona.persona_key,
            "emotionalArcKey": prompt.arc.arc_key,
            "trainingTopicKey": prompt.topic.topic_key,
            "templateName": prompt.template.name,
            "repeat": prompt.repeat,
            "targetTurnCount": prompt.target_turn_count,
        },
    )
