"""The three formats of one set of a training file's conversations (the whole file, or
one of its train/validation splits), written to local temporary files while a build
reads the members, then assembled with the header only known at the end."""

import tempfile
from collections.abc import Callable
from typing import BinaryIO

import orjson

from . import builders
from .exports import SPLIT_METHOD, Split
from .models import FileFormat

COPY_CHUNK = 1024 * 1024


def scratch() -> BinaryIO:
    """A temporary file with no name on disk: freed when closed or when the process ends."""
    return tempfile.TemporaryFile(prefix="training-file-")  # noqa: SIM115 (closed by the caller)


class FileSet:
    """The outputs of one set of conversations; ``add`` one conversation at a time."""

    def __init__(self, split: str | None = None) -> None:
        self.split = split  # None: the whole file
        self.summary = builders.Summary()
        self.json_body, self.jsonl_body, self.chat = scratch(), scratch(), scratch()
        self.outputs: dict[str, BinaryIO] = {}

    def add(
        self,
        member: builders.Member,
        pairs: list[dict],
        entry: bytes,
        lines: list[bytes],
        chat_line: bytes | None,
    ) -> None:
        """``entry`` is ``builders.json_conversation(..., first=True)`` (written once for
        every set the conversation is in: the separator differs only by a comma)."""
        self.json_body.write(entry if self.summary.conversations == 0 else b"," + entry)
        for line in lines:
            self.jsonl_body.write(b"\n" + line)
        if chat_line:
            self.chat.write(chat_line)
        self.summary.add(member, pairs)

    def finish(
        self,
        metadata: dict,
        consultant_profile: dict,
        *,
        name: str,
        report: Callable[[], None],
    ) -> dict[str, BinaryIO]:
        """The three finished files (the JSON's and the JSONL's headers written first)."""
        meta = {"file_name": name, "total_pairs": self.summary.training_pairs}
        meta["version"] = builders.VERSION
        if self.split:
            meta["split"] = self.split
        self.outputs = {
            FileFormat.JSON: _assemble(
                builders.json_head(metadata, consultant_profile),
                self.json_body,
                builders.json_tail(empty=self.summary.conversations == 0),
                report,
            ),
            FileFormat.JSONL: _assemble(
                orjson.dumps({"_meta": meta}), self.jsonl_body, b"", report
            ),
            FileFormat.CHAT_JSONL: self.chat,
        }
        return self.outputs

    def close(self) -> None:
        for handle in (self.json_body, self.jsonl_body, self.chat, *self.outputs.values()):
            handle.close()


def split_metadata(validation_fraction: float, sets: dict[str, FileSet], split: str | None):
    """The ``split`` block of the v4 metadata: the fraction, how members are assigned,
    and the counts of both splits (``name`` says which split a split file holds)."""
    block: dict = {"name": split} if split else {}
    block["validation_fraction"] = validation_fraction
    block["method"] = SPLIT_METHOD
    for each in Split.values:
        block[f"{each}_conversations"] = sets[each].summary.conversations
        block[f"{each}_training_pairs"] = sets[each].summary.training_pairs
    return block


def _assemble(head: bytes, body: BinaryIO, tail: bytes, report: Callable[[], None]) -> BinaryIO:
    out = scratch()
    out.write(head)
    body.seek(0)
    while chunk := body.read(COPY_CHUNK):
        out.write(chunk)
        report()
    out.write(tail)
    return out
