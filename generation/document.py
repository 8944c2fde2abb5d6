"""The conversation document the model is asked for (DOMAIN §2 without
``input_parameters``), as a JSON schema for the provider's structured output.

The schema keeps to what structured outputs accept (every object closed with
``additionalProperties: false``; no numeric ranges): the validator still checks what it
cannot say, such as intensities between 0 and 1.
"""

import json

_EMOTIONAL_CONTEXT = {
    "type": "object",
    "properties": {
        "primary_emotion": {"type": "string"},
        "secondary_emotion": {"type": "string"},
        "intensity": {"type": "number", "description": "From 0 (none) to 1 (overwhelming)."},
    },
    "required": ["primary_emotion", "intensity"],
    "additionalProperties": False,
}

CONVERSATION_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "conversation_metadata": {
            "type": "object",
            "properties": {
                "client_persona": {
                    "type": "string",
                    "description": "The client as '<name> - <archetype>'.",
                },
                "session_context": {"type": "string", "description": "Why the client is here."},
                "conversation_phase": {"type": "string"},
                "expected_outcome": {"type": "string"},
            },
            "required": ["client_persona", "session_context", "conversation_phase"],
            "additionalProperties": False,
        },
        "turns": {
            "type": "array",
            "description": "Alternating turns, the client (user) first.",
            "items": {
                "type": "object",
                "properties": {
                    "turn_number": {"type": "integer", "description": "1, 2, 3, …"},
                    "role": {"type": "string", "enum": ["user", "assistant"]},
                    "content": {"type": "string"},
                    "emotional_context": _EMOTIONAL_CONTEXT,
                },
                "required": ["turn_number", "role", "content", "emotional_context"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["conversation_metadata", "turns"],
    "additionalProperties": False,
}


def output_config() -> dict:
    """The Messages API's ``output_config`` asking for the document (a text block)."""
    return {"format": {"type": "json_schema", "schema": CONVERSATION_SCHEMA}}


def schema_chars() -> int:
    """The schema's size in characters (it counts as input)."""
    return len(json.dumps(CONVERSATION_SCHEMA, separators=(",", ":")))
