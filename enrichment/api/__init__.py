"""The REST API of conversations and background runs (DESIGN.md "REST API"); errors in one
shape through ``errors.exception_handler``."""
