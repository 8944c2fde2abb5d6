"""The API's body parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``)."""

from django.conf import settings
from rest_framework import exceptions, parsers

from core import strict_json


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


class InvalidBody(exceptions.ParseError):
    """A body that is not the JSON the operation takes (answered as ``Invalid request``)."""


class TooDeep(InvalidBody):
    """JSON nested past ``strict_json.MAX_DEPTH`` (answered with the code ``too_deep``)."""

    default_detail = f"The body is {strict_json.TOO_DEEP}."
    default_code = "too_deep"


class StrictJSONParser(parsers.BaseParser):
    """JSON bodies up to ``API_MAX_BODY_BYTES``, parsed by ``core.strict_json``: nesting
    deeper than ``MAX_DEPTH`` is refused as ``too_deep`` (400); numbers out of range, lone
    surrogates and NaN as invalid JSON (400); a bigger body as 413, before it is parsed.

    Not a subclass of DRF's JSONParser on purpose: DRF reads ``request.body`` for those,
    where Django refuses anything over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) with its
    HTML 400 page; this parser reads the stream itself, up to its own limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return strict_json.loads(body)
        except strict_json.TooDeep:
            raise TooDeep() from None
        except strict_json.JSONDecodeError as exc:
            if "depth limit exceeded" in str(exc):
                raise TooDeep() from None
            raise InvalidBody(f"The body must be a JSON object: {exc}") from None
