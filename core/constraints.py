from django.db import models
from django.db.models import Q


def check_choices(field: str, choices: type[models.TextChoices], *, nullable: bool = False) -> Q:
    """The CHECK condition that keeps ``field`` within ``choices``."""
    condition = Q(**{f"{field}__in": choices.values})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return condition
