"""The one kind of error a service raises for a request it cannot carry out.

A ``DomainError`` says what went wrong in words a person can act on, and carries what the
API answers with: ``status`` (the HTTP status), ``code`` (a stable name clients can test),
``fields()`` (the extra keys of the error body) and ``subject`` (the object it is about,
which the API shows as its own serializers do: ``core.api.errors.shows_subject``).
Services raise it; the API's one exception handler (``core.api.errors``) maps it, pages
show its message. Nothing else translates errors.
"""


class DomainError(Exception):
    status = 400
    code = "invalid"
    # The body's ``error`` when it is not the message (which then goes in the fields).
    summary: str | None = None

    def __init__(self, message: str, *, subject=None) -> None:
        super().__init__(message)
        self.message = message
        self.subject = subject

    def fields(self) -> dict:
        """Extra keys of the API's error body."""
        return {}


class NotFound(DomainError):
    """Something the request names is unknown, or not visible to the caller (the same
    answer either way, so that ids cannot be probed)."""

    status = 404
    code = "not_found"

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing

    def fields(self) -> dict:
        return {"missing": self.missing} if self.missing is not None else {}


class Conflict(DomainError):
    """The request is well formed, but the state of what it names refuses it."""

    status = 409
    code = "conflict"


class Unavailable(DomainError):
    """A service we depend on (the file storage) failed: try again later."""

    status = 503
    code = "unavailable"
    retry_after = 30


class StorageFailed(Unavailable):
    """The file storage refused a read or a write (a full disk, read-only storage, the
    object store failing or out of reach): the server's fault, and one that may pass, so
    clients are told to retry (503 with ``Retry-After``), never that their input was bad.
    Nothing of the request is kept."""

    code = "storage_unavailable"
    retry_after = 60

    @classmethod
    def from_os_error(cls, doing: str, exc: OSError) -> "StorageFailed":
        reason = exc.strerror or str(exc)
        return cls(
            f"The file storage failed while {doing} ({reason}); nothing was kept. "
            f"Try again in {cls.retry_after} seconds."
        )
