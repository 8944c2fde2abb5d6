"""Content fingerprints: what tells that a conversation was imported before.

A conversation's ``content_hash`` is the SHA-256 of its parsed document in a canonical
form (keys sorted, no whitespace), so the same document sent twice matches whatever its
formatting; content that is not a JSON object is hashed as the bytes it came as.
"""

import hashlib
import json


def content_hash(content: bytes, data: dict | None) -> str:
    """The fingerprint of one conversation: ``data`` (the parsed document) when there is
    one, else the bytes ``content``."""
    if data is not None:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        content = b"json:" + canonical.encode("utf-8", "surrogatepass")
    else:
        content = b"raw:" + content
    return hashlib.sha256(content).hexdigest()
