"""Content fingerprints: what tells that a conversation was imported before.

A conversation's ``content_hash`` is the SHA-256 of its parsed document in a canonical
form (keys sorted, no whitespace), so the same document sent twice matches whatever its
formatting; content that is not a JSON object is hashed as the bytes it came as.
"""

import hashlib
import json

from conversations.models import Conversation
from core import storage


def content_hash(content: bytes, data: dict | None) -> str:
    """The fingerprint of one conversation: ``data`` (the parsed document) when there is
    one, else the bytes ``content``."""
    if data is not None:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        content = b"json:" + canonical.encode("utf-8", "surrogatepass")
    else:
        content = b"raw:" + content
    return hashlib.sha256(content).hexdigest()


def fill_content_hashes(*, batch_size: int = 500) -> tuple[int, int]:
    """Fingerprint the conversations stored before fingerprints existed, from the content
    they were imported with (the raw file, else the parsed one), so that importing them
    again is recognised. Returns (fingerprinted, without a readable file)."""
    done = unreadable = 0
    last_pk = None
    while True:
        rows = Conversation.objects.filter(content_hash="").order_by("pk")
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        page = list(rows.only("pk", "raw_response_path", "file_path")[:batch_size])
        if not page:
            return done, unreadable
        last_pk = page[-1].pk
        changed = []
        for conversation in page:
            path = conversation.raw_response_path or conversation.file_path
            try:
                content = storage.read_file(path) if path else None
            except OSError:
                content = None
            if content is None:
                unreadable += 1
                continue
            try:
                data = json.loads(content)
            except (json.JSONDecodeError, UnicodeDecodeError):
                data = None
            conversation.content_hash = content_hash(
                content, data if isinstance(data, dict) else None
            )
            changed.append(conversation)
        Conversation.objects.bulk_update(changed, ["content_hash"])
        done += len(changed)
