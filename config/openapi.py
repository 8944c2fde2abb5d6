"""Post-processing of the generated OpenAPI schema."""

# Operations whose JSON body cannot be left out (drf-spectacular cannot tell from a
# hand-written request schema).
BODY_REQUIRED = {
    "bulk_enrich_conversations",
    "start_enrichment_run",
    "create_batch_job",
    "add_batch_items",
    "create_training_file",
    "add_conversations_to_training_file",
    "remove_conversations_from_training_file",
    "review_conversation",
    "review_conversations",
    "create_api_token",
    "create_generation_job",
    "preview_generation_job",
    "create_conversation_revision",
    "replace_failed_conversations",
}
# Operations whose JSON body may be left out, but whose unknown keys are refused too.
BODY_OPTIONAL = {"claim_next_for_review", "resume_generation_job"}


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before the next call.",
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
    }
}


def document_retry_after(result: dict, generator, request, public) -> dict:
    """Every 429 says when to come back (drf-spectacular has no per-response headers)."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            throttled = operation.get("responses", {}).get("429")
            if throttled is not None:
                throttled["headers"] = RETRY_AFTER
    return result


def require_bodies(result: dict, generator, request, public) -> dict:
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if operation.get("operationId") in BODY_REQUIRED and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result


def close_request_bodies(result: dict, generator, request, public) -> dict:
    """A body's unknown keys are refused (a misspelt option must not be ignored): the
    schema says so with ``additionalProperties: false`` on every top-level body object."""
    components = result.get("components", {}).get("schemas", {})
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if operation.get("operationId") not in BODY_REQUIRED | BODY_OPTIONAL:
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schema = media.get("schema", {})
                if "$ref" in schema:
                    schema = components[schema["$ref"].rsplit("/", 1)[-1]]
                for body in schema.get("oneOf", [schema]):
                    if "properties" in body:
                        body.setdefault("additionalProperties", False)
    return result


# Words an operation id shortens (its summary spells them out).
_SUMMARY_WORDS = {"get": "Get", "list": "List", "retry": "Retry"}


def summarize_operations(result: dict, generator, request, public) -> dict:
    """Every operation gets a summary, the line the docs page shows beside its path: its
    id in words ("download_raw_conversation": "Download raw conversation"), unless the
    view gave one."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            operation_id = operation.get("operationId")
            if operation_id and not operation.get("summary"):
                words = operation_id.split("_")
                first = _SUMMARY_WORDS.get(words[0], words[0].capitalize())
                operation["summary"] = " ".join([first, *words[1:]])
    return result
