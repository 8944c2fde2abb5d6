"""Object storage (``FILE_STORAGE=s3``): django-storages' S3 backend, with reads that stream.

Writes are single ``PutObject`` calls: S3 makes an object visible whole or not at all, so
a reader never sees half an enriched file, which is what the local storage's
write-then-rename gives on disk. Failures surface as ``OSError`` (``FileNotFoundError``
for a missing object), as they do from the local disk, so callers handle one kind.
"""

from functools import cached_property

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import File
from storages.backends.s3 import S3Storage as BaseS3Storage
from storages.utils import clean_name

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Storage(BaseS3Storage):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        # An unreachable endpoint fails a call (and the health check) within seconds, not
        # after botocore's default of a minute per attempt.
        self.client_config = self.client_config.merge(
            Config(connect_timeout=5, retries={"mode": "standard", "max_attempts": 3})
        )

    @cached_property
    def client(self):
        # One client for every thread (boto3 clients are thread-safe): the base class makes
        # a session per thread, which would cost each parallel enrichment thread a new one.
        return self.connection.meta.client

    def _key(self, name: str) -> str:
        return self._normalize_name(clean_name(name))

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            return super()._open(name, mode)
        # One GET whose body is read as it is consumed: a download starts at once and never
        # holds the whole object in memory (the base class downloads it all first).
        try:
            response = self.client.get_object(Bucket=self.bucket_name, Key=self._key(name))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"File does not exist: {name}") from None
            raise OSError(f"Storage error reading {name}: {err}") from err
        except BotoCoreError as err:
            raise OSError(f"Storage error reading {name}: {err}") from err
        streamed = File(response["Body"], name=name)
        streamed.size = response["ContentLength"]
        return streamed

    def write_bytes(self, name: str, data: bytes) -> int:
        """Write ``data`` at exactly ``name`` (replacing any object there); return its size."""
        key = self._key(name)
        try:
            self.client.put_object(
                Bucket=self.bucket_name, Key=key, Body=data, **self._get_write_parameters(key)
            )
        except (BotoCoreError, ClientError) as err:
            raise OSError(f"Storage error writing {name}: {err}") from err
        return len(data)

    def probe(self) -> None:
        """Raise unless the bucket answers (the health check)."""
        self.client.head_bucket(Bucket=self.bucket_name)
