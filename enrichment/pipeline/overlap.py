"""Overlapping conversations' storage I/O with the stages of the others.

The stages are CPU work in Python, so they run one at a time on the calling thread
(threads would only take turns at the interpreter lock). Reading an input and writing a
document wait on storage instead: a few I/O threads (``ENRICHMENT_MAX_PARALLEL``, shared
by the process) read ahead and write behind, so a batch costs about its stages plus what
storage cannot overlap. At most ``READ_AHEAD`` inputs and ``WRITE_BEHIND`` documents wait
at once, so memory stays flat whatever the number of conversations.
"""

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from time import perf_counter

from django.conf import settings

from conversations.models import Conversation

from .process import Staged
from .record import Processed

READ_AHEAD = 8
WRITE_BEHIND = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def io_pool() -> ThreadPoolExecutor:
    """The process's I/O threads (created on first use, after any fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.ENRICHMENT_MAX_PARALLEL, thread_name_prefix="enrich-io"
            )
        return _pool


@dataclass(frozen=True)
class Steps:
    """What to do with each conversation, by kind of work (see ``pipeline.process``)."""

    read: Callable[[Conversation], bytes]  # storage
    stage: Callable[[bytes, Conversation], Staged]  # CPU
    store: Callable[[Conversation, Staged], dict]  # storage; the success fields
    failed: Callable[[Conversation, BaseException], dict]  # the failure fields


def _timed(step: Callable, *args) -> tuple:
    """(result, seconds, error): a step on an I/O thread never raises."""
    started = perf_counter()
    try:
        return step(*args), perf_counter() - started, None
    except Exception as error:
        return None, perf_counter() - started, error


@dataclass
class _Pending:
    """A conversation past its stages, its document possibly still being written."""

    conversation: Conversation
    seconds: float  # its own work so far (reading, the stages)
    fields: dict | None = None
    write: Future | None = None

    def done(self) -> bool:
        return self.write is None or self.write.done()

    def processed(self, steps: Steps) -> Processed:
        fields, seconds = self.fields, self.seconds
        if self.write is not None:
            fields, spent, error = self.write.result()
            seconds += spent
            if error is not None:
                fields = steps.failed(self.conversation, error)
        assert fields is not None
        return Processed(self.conversation, fields, seconds * 1000)


def _staged(conversation: Conversation, source, seconds: float, steps: Steps, write) -> _Pending:
    staged, spent, error = _timed(steps.stage, source, conversation)
    if error is not None:
        return _Pending(conversation, seconds + spent, steps.failed(conversation, error))
    return _Pending(conversation, seconds + spent, write=write(conversation, staged))


def processed(
    claimed: list[Conversation], steps: Steps, should_stop: Callable[[], bool] | None = None
) -> Iterator[Processed]:
    """Each conversation processed, in order, once its document is written.

    ``should_stop`` is asked before each conversation's stages; once it answers true,
    the ones not started are left out (their reads ahead are dropped).
    """
    if len(claimed) < 2:
        # Nothing to overlap: no hand-over between threads.
        for conversation in claimed:
            if should_stop is not None and should_stop():
                return
            source, seconds, error = _timed(steps.read, conversation)
            if error is not None:
                pending = _Pending(conversation, seconds, steps.failed(conversation, error))
            else:
                pending = _staged(conversation, source, seconds, steps, _write_now(steps))
            yield pending.processed(steps)
        return

    pool = io_pool()
    # The I/O threads log with this thread's context (the request id of the logs).
    context = contextvars.copy_context()
    upcoming = iter(claimed)
    reads: deque[tuple[Conversation, Future]] = deque()
    writes: deque[_Pending] = deque()

    def read_ahead() -> None:
        while len(reads) < READ_AHEAD and (conversation := next(upcoming, None)) is not None:
            reading = pool.submit(context.copy().run, _timed, steps.read, conversation)
            reads.append((conversation, reading))

    def write_behind(conversation: Conversation, staged: Staged) -> Future:
        return pool.submit(context.copy().run, _timed, steps.store, conversation, staged)

    try:
        read_ahead()
        while reads:
            if should_stop is not None and should_stop():
                break
            conversation, reading = reads.popleft()
            source, seconds, error = reading.result()
            read_ahead()
            if error is not None:
                writes.append(_Pending(conversation, seconds, steps.failed(conversation, error)))
            else:
                writes.append(_staged(conversation, source, seconds, steps, write_behind))
            while writes and (writes[0].done() or len(writes) > WRITE_BEHIND):
                yield writes.popleft().processed(steps)
        while writes:
            yield writes.popleft().processed(steps)
    finally:
        for _, reading in reads:
            reading.cancel()


def _write_now(steps: Steps) -> Callable[[Conversation, Staged], Future]:
    def write(conversation: Conversation, staged: Staged) -> Future:
        future: Future = Future()
        future.set_result(_timed(steps.store, conversation, staged))
        return future

    return write
