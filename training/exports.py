"""What a fine-tuning user chooses on a training file besides its members: a minimum
quality tier (members below it are left out) and a train/validation split.

Tiers are the original's (``builders.quality_tier``): ``seed_dataset`` ≥ 4.5,
``production`` ≥ 3.5, ``experimental`` ≥ 2.5 or no score (null or 0), else ``rejected``.
A member's tier is that of its ``quality_score`` (the score its enriched file's pairs were
given, so the files say the same tier).

The split is deterministic: a conversation is in the validation split when the first 8
bytes of the SHA-256 of its business id (the UUID's lowercase text with hyphens), read as
an unsigned big-endian integer and divided by 2**64, are below the file's validation
fraction; else in the train split. The same conversation lands in the same split in every
build and every format, and in every file with the same fraction.
"""

import hashlib
import uuid

from django.db import models
from django.db.models import Q

from .models import QualityTier

SPLIT_METHOD = "sha256(conversation_id)[:8] as an unsigned integer / 2**64 < validation_fraction"


# The lowest score of each tier (experimental also takes unscored conversations).
TIER_MINIMUM = {
    QualityTier.EXPERIMENTAL: 2.5,
    QualityTier.PRODUCTION: 3.5,
    QualityTier.SEED_DATASET: 4.5,
}


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"


def meets_tier(min_tier: str) -> Q:
    """Conversations whose quality tier is ``min_tier`` or better."""
    at_least = Q(quality_score__gte=TIER_MINIMUM[min_tier])
    if min_tier == QualityTier.EXPERIMENTAL:
        return at_least | Q(quality_score__isnull=True) | Q(quality_score=0)
    return at_least


def tier_of(score: float | None) -> str:
    if not score:
        return "experimental"
    for tier in reversed(QualityTier.values):
        if score >= TIER_MINIMUM[tier]:
            return tier
    return "rejected"


def tier_label(tier: str) -> str:
    return tier.replace("_", " ")


def split_of(conversation_id: str | uuid.UUID, validation_fraction: float) -> str:
    """``train`` or ``validation`` (see the module's docstring)."""
    digest = hashlib.sha256(str(uuid.UUID(str(conversation_id))).encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return Split.VALIDATION if position < validation_fraction else Split.TRAIN
