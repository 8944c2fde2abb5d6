"""What ``manage.py enrich`` shows while it works and when it ends: a progress bar on a
terminal (drawn by rich on stderr, in the terminal's own colours, never in the error
style), and the failed conversations with their errors, up to a limit."""

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from enrichment.pipeline.outcomes import ENRICHED, FAILED, SKIPPED, Outcome

# Failed conversations listed at the end; the rest are counted.
FAILURES_LISTED = 20


@dataclass(frozen=True)
class FailureLine:
    conversation_id: str
    name: str
    error: str

    def __str__(self) -> str:
        error = self.error if len(self.error) <= 200 else f"{self.error[:199]}…"
        return f"  {self.conversation_id}  “{self.name or 'Untitled'}”: {error}"


class ProgressDisplay:
    """A progress bar with the counts so far and the time left, on a terminal only."""

    def __init__(self, stream, total: int, *, enabled: bool, title: str = "Enriching") -> None:
        self.total = total
        self.counts = {ENRICHED: 0, FAILED: 0, SKIPPED: 0}
        self.progress: Progress | None = None
        if enabled and total > 0 and stream.isatty():
            self.progress = Progress(
                TextColumn(f"[bold]{title}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "[green]{task.fields[enriched]} enriched[/] · "
                    "{task.fields[failed_text]} · {task.fields[skipped]} skipped"
                ),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=Console(file=stream),
            )
            self.task = self.progress.add_task(title, total=total, **self._fields())

    def _fields(self) -> dict:
        failed = self.counts[FAILED]
        return {
            "enriched": self.counts[ENRICHED],
            # Red only when something failed: "0 failed" is good news.
            "failed_text": f"[red]{failed} failed[/]" if failed else "0 failed",
            "skipped": self.counts[SKIPPED],
        }

    def __enter__(self) -> "ProgressDisplay":
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()

    def advance(self, outcome: Outcome) -> None:
        """One conversation done (the runner's ``on_outcome``)."""
        self.counts[outcome.status] += 1
        if self.progress:
            self.progress.update(self.task, advance=1, **self._fields())

    def show(self, *, done: int, enriched: int, failed: int, skipped: int, total: int) -> None:
        """Where a background run stands (its stored counters)."""
        self.counts = {ENRICHED: enriched, FAILED: failed, SKIPPED: skipped}
        if self.progress:
            self.progress.update(self.task, completed=done, total=total, **self._fields())


def failure_lines(failures: Iterable[FailureLine], count: int) -> list[str]:
    """The failures, at most ``FAILURES_LISTED`` of them, then how many more."""
    lines = [f"Failed ({count}):"]
    lines += [str(failure) for failure in failures][:FAILURES_LISTED]
    if count > FAILURES_LISTED:
        lines.append(f"  … and {count - FAILURES_LISTED} more.")
    return lines
