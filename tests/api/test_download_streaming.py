"""Stored files stream from the async server a block at a time, never read whole."""

import asyncio
import warnings

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.api.downloads import stored_file_response


def test_a_stored_file_is_sent_from_an_async_server_in_blocks_as_it_is_read(db, media_root):
    content = bytes(range(256)) * 4096  # 1 MiB
    path = default_storage.save("downloads/big.bin", ContentFile(content))
    response = stored_file_response(path, "big.bin", "application/octet-stream")
    response.block_size = 64 * 1024

    async def consume() -> list[bytes]:
        return [part async for part in response]

    with warnings.catch_warnings():
        # Django warns when it must read a whole response into memory to send it async.
        warnings.simplefilter("error")
        parts = asyncio.run(consume())
    response.close()

    assert b"".join(parts) == content
    assert len(parts) == 16
    assert response["Content-Length"] == str(len(content))
