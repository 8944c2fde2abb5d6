"""What generation costs: prices per model in USD per million tokens, exact in ``Decimal``.

``GENERATION_PRICES`` (a JSON setting, ``{"<model>": {"input": 2, "output": 10}}``) adds
models or replaces the defaults' prices. Batch mode (the Message Batches API) costs half.
The provider bills every result it produced (succeeded, truncated and refused included);
errored, expired and canceled requests cost nothing: callers price only the former.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.errors import DomainError

MILLION = Decimal(1_000_000)
BATCH_DISCOUNT = Decimal("0.5")
# Published list prices (USD per million tokens, standard tier) of the current models and
# of the original system's one.
DEFAULT_PRICES: dict[str, dict[str, Decimal]] = {
    "claude-sonnet-5-5": {"input": Decimal(2), "output": Decimal(10)},
    "claude-sonnet-5": {"input": Decimal(2), "output": Decimal(10)},
    "claude-opus-5-5": {"input": Decimal(4), "output": Decimal(20)},
    "claude-opus-5": {"input": Decimal(5), "output": Decimal(25)},
    "claude-haiku-4-5": {"input": Decimal(1), "output": Decimal(5)},
    "claude-haiku-4-5-20251001": {"input": Decimal(1), "output": Decimal(5)},
    "claude-sonnet-4-6": {"input": Decimal(3), "output": Decimal(15)},
    "claude-sonnet-4-5-20250929": {"input": Decimal(3), "output": Decimal(15)},
}
# Estimates before anything is sent: about 3.5 characters a token for English prose and
# JSON, and what one turn of the conversation document takes (its text and emotional
# context), plus the document's metadata.
CHARS_PER_TOKEN = Decimal("3.5")
OUTPUT_TOKENS_PER_TURN = 320
OUTPUT_TOKENS_BASE = 200
DEFAULT_TURNS = 6


class UnknownModelPrice(DomainError):
    code = "unknown_model_price"
    status = 400

    def __init__(self, message: str, *, model: str) -> None:
        super().__init__(message)
        self.model = model

    def fields(self) -> dict:
        return {"model": self.model}


def parse_prices(text: str) -> dict[str, dict[str, Decimal]]:
    """Read a ``GENERATION_PRICES`` value; ``ValueError`` says what is wrong with it."""
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ValueError('expected an object such as {"<model>": {"input": 2, "output": 10}}')
    prices: dict[str, dict[str, Decimal]] = {}
    for model, price in document.items():
        if not isinstance(price, dict) or set(price) != {"input", "output"}:
            raise ValueError(f"{model!r} must be an object with exactly 'input' and 'output'")
        for kind, value in price.items():
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(
                    f"{model!r} {kind} must be a number of USD per million tokens, 0 or more"
                )
        prices[model] = {"input": price["input"], "output": price["output"]}
    return prices


def prices() -> dict[str, dict[str, Decimal]]:
    return {**DEFAULT_PRICES, **getattr(settings, "GENERATION_PRICES", {})}


def price(model: str) -> dict[str, Decimal]:
    found = prices().get(model)
    if found is None:
        raise UnknownModelPrice(
            f"No price is known for the model {model!r}: add it to GENERATION_PRICES "
            '(JSON: {"<model>": {"input": USD per million tokens, "output": …}}) or choose '
            f"one of: {', '.join(sorted(prices()))}.",
            model=model,
        )
    return found


def cost(model: str, input_tokens: int, output_tokens: int, *, batch: bool) -> Decimal:
    """USD for one billed result, exact (no rounding)."""
    rates = price(model)
    total = (Decimal(input_tokens) * rates["input"] + Decimal(output_tokens) * rates["output"]) / (
        MILLION
    )
    return total * BATCH_DISCOUNT if batch else total


def estimate_tokens(text: str) -> int:
    return math.ceil(Decimal(len(text)) / CHARS_PER_TOKEN) if text else 0


@dataclass(frozen=True)
class Estimate:
    input_tokens: int
    output_tokens: int
    cost_usd_batch: Decimal
    cost_usd_realtime: Decimal
    mode: str

    @property
    def cost_usd(self) -> Decimal:
        return self.cost_usd_batch if self.mode == "batch" else self.cost_usd_realtime

    def as_dict(self) -> dict:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "costUsd": self.cost_usd,
            "costUsdBatch": self.cost_usd_batch,
            "costUsdRealtime": self.cost_usd_realtime,
        }


def estimate(
    model: str,
    requests: Iterable[tuple[str, str, int | None]],
    *,
    max_tokens: int,
    mode: str,
    overhead_chars: int = 0,
) -> Estimate:
    """The cost of sending ``(system, prompt, target_turn_count)`` requests: input tokens
    from their length (plus ``overhead_chars`` each, such as the output schema), output
    tokens from the turn count (at most ``max_tokens``)."""
    price(model)  # an unknown model fails before any counting
    input_tokens = output_tokens = 0
    for system, prompt, turns in requests:
        input_tokens += estimate_tokens(system) + estimate_tokens(prompt)
        input_tokens += math.ceil(Decimal(overhead_chars) / CHARS_PER_TOKEN)
        expected = OUTPUT_TOKENS_BASE + OUTPUT_TOKENS_PER_TURN * (turns or DEFAULT_TURNS)
        output_tokens += min(expected, max_tokens)
    return Estimate(
        input_tokens,
        output_tokens,
        cost(model, input_tokens, output_tokens, batch=True),
        cost(model, input_tokens, output_tokens, batch=False),
        mode,
    )
