"""Conversation files uploaded in the browser: what each would become (the preview), then
the import itself, through the same reading and checks as ``import_conversations``."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile

from conversations.imports import ImportFailed
from intake.duplicates import Duplicate, split_duplicates
from intake.files import ConversationImport, SourceFile, import_sources, parse_source


@dataclass
class UploadedConversation:
    """One file of an upload: its content read, or why it cannot be imported."""

    name: str
    size: int
    # Its place among the files chosen (the page's "Leave out" drops the file there).
    index: int = 0
    source: SourceFile | None = None
    error: str = ""
    duplicate: Duplicate | None = None

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.duplicate is not None:
            return "duplicate"
        return "unparseable" if self.source.data is None else "conversation"

    @property
    def turns(self) -> int | None:
        turns = self.source.data.get("turns") if self.source and self.source.data else None
        return len(turns) if isinstance(turns, list) else None

    @property
    def client(self) -> str:
        data = self.source.data if self.source else None
        metadata = data.get("conversation_metadata") if data else None
        persona = metadata.get("client_persona") if isinstance(metadata, dict) else None
        return persona if isinstance(persona, str) else ""


@dataclass
class Upload:
    files: list[UploadedConversation] = field(default_factory=list)

    def with_status(self, status: str) -> list[UploadedConversation]:
        return [f for f in self.files if f.status == status]

    @property
    def errors(self) -> list[UploadedConversation]:
        return self.with_status("error")

    @property
    def duplicates(self) -> list[UploadedConversation]:
        return self.with_status("duplicate")

    @property
    def unparseable(self) -> list[UploadedConversation]:
        return self.with_status("unparseable")

    @property
    def importable(self) -> list[UploadedConversation]:
        return [f for f in self.files if f.status in {"conversation", "unparseable"}]


def read_upload(files: Iterable[UploadedFile], *, owner, allow_duplicates: bool = False) -> Upload:
    """Read every uploaded file as ``import_conversations`` reads a file on disk (a
    problem with one is reported on that file), and mark the duplicates."""
    upload = Upload()
    for index, uploaded in enumerate(files):
        name = Path(uploaded.name or "upload.json").name
        entry = UploadedConversation(name, uploaded.size or 0, index)
        try:
            entry.source = parse_source(Path(name), uploaded.read())
        except ImportFailed as exc:
            entry.error = str(exc)
        except OSError as exc:
            entry.error = f"{name}: cannot be read ({exc})"
        upload.files.append(entry)
    readable = [f for f in upload.files if f.source is not None]
    if not allow_duplicates and readable:
        _, duplicates = split_duplicates(
            [f.source.content_hash for f in readable], [f.name for f in readable], owner=owner
        )
        for duplicate in duplicates:
            readable[duplicate.index].duplicate = duplicate
    return upload


def import_upload(
    upload: Upload,
    *,
    owner,
    batch_name: str,
    tier: str,
    auto_enrich: bool,
    allow_duplicates: bool = False,
) -> ConversationImport:
    """Import an upload that has no errors, all or nothing (see ``import_sources``)."""
    if upload.errors:
        raise ImportFailed("; ".join(f.error for f in upload.errors))
    sources = [f.source for f in upload.files if f.source is not None]
    if not sources:
        raise ImportFailed("no conversation files given")
    return import_sources(
        sources,
        owner=owner,
        batch_name=batch_name,
        tier=tier,
        auto_enrich=auto_enrich,
        allow_duplicates=allow_duplicates,
    )
