"""Post-processing of the generated OpenAPI schema."""

# Operations whose JSON body cannot be left out (drf-spectacular cannot tell from a
# hand-written request schema).
BODY_REQUIRED = {
    "bulk_enrich_conversations",
    "start_enrichment_run",
    "create_batch_job",
    "add_batch_items",
}


def require_bodies(result: dict, generator, request, public) -> dict:
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if operation.get("operationId") in BODY_REQUIRED and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
