"""One way to send a stored file: as an attachment, streamed from the storage (local
disk or object storage), with its length, or a 404 in the API's shape when it is gone."""

from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse

from core.errors import StorageFailed

from .errors import not_found


class StoredFileResponse(FileResponse):
    """A file response that streams under ASGI too: Django would read a file response's
    whole content into memory before sending it from an async server (bin/serve); this
    one reads it a block at a time, off the event loop."""

    async def __aiter__(self):
        blocks = iter(self.streaming_content)
        next_block = sync_to_async(next, thread_sensitive=False)
        while (block := await next_block(blocks, None)) is not None:
            yield block


def stored_file_response(path: str, filename: str, content_type: str) -> FileResponse:
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError:
        raise not_found(f"The file {path} is missing from storage.") from None
    except OSError as exc:
        raise StorageFailed.from_os_error(f"reading {path}", exc) from None
    response = StoredFileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    if not response.has_header("Content-Length"):
        # A stream from object storage: the size comes from the storage, not a seek.
        response["Content-Length"] = handle.size
    return response


def file_responses(description: str, media_types: dict[str, dict]) -> dict:
    """A download's 200 answer for the schema: ``application/octet-stream`` first (any
    answer read as its bytes, which is how a generated client then reads it: a file that
    is not one JSON document cannot break its parser), then each media type the file is
    served as (the Content-Type header says which) with its own schema."""
    binary = {"type": "string", "format": "binary"}
    responses = {
        (200, "application/octet-stream"): OpenApiResponse(binary, description=description)
    }
    for media_type, schema in media_types.items():
        responses[(200, media_type)] = OpenApiResponse(schema, description=description)
    return responses
