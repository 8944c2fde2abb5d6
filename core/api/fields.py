"""Serializer fields every API module takes its input with."""

import uuid

from rest_framework import serializers


class StrictUUIDField(serializers.UUIDField):
    """A UUID only as a JSON string, in any letter case: DRF's own field also takes
    integers and booleans (``1`` → ``00000000-…-000000000001``), which then answer
    "missing" instead of naming the field."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("format", "hex_verbose")
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
