"""The import pipeline: file -> validated rows -> batches to a sink, errors to a report.

    outcome = run_import(path, sheet, sink, workdir, checkpoint=..., resume_after=...)

- Streams: the reader yields one row at a time, good rows go to `sink` in batches of
  `batch_size`, errors go straight to the CSV and XLSX report files; memory does not grow with
  the file.
- `sink(batch)` writes a batch (upserts keyed by natural keys, so writing a row twice changes
  nothing) and returns counts such as {"inserted": 3, "updated": 1, "unchanged": 996}. A sink
  may hold rows back instead of writing them (a record changed in the system after the upload:
  a conflict); it keeps them with its writes and `conflicts()` lists them once every row is
  done, so they join the report after the rows' own errors (also those held back by an earlier
  attempt of a resumed job).
- `checkpoint(done, total, message, counts, state)` runs after every batch. In a job it is
  `ctx.progress`, which commits the batch and the progress in one transaction; `state["row"]` is
  the last spreadsheet row written, so a retried job passes it back as `resume_after` and only
  validates (for the report) the rows before it. Re-running a whole file changes nothing either,
  since the sink upserts.
- A sink may have `prepare(row, values)`: called for each good row as it is read (on the
  caller's thread, without the database), so the sink's own Python work on a batch overlaps
  the writing of the batch before.
- Overlap (`overlap=True`, for a sink that may run on another thread): each batch is written
  (sink, then checkpoint) on one helper thread while the next batch is validated, so the database works on one batch while Python checks the next; the
  helper borrows the caller's session and context (`OneBehind`), and never holds it at the same
  time as the caller. A write's error surfaces at the next batch or at the end, and nothing
  returns or raises while a write is still running.
- `reshape` sees the raw rows before validation (a file whose header the user mapped by hand:
  its header row replaced by the column names, the title rows above it dropped).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slrt.platform import db
from slrt.platform.tabular.read import iter_rows
from slrt.platform.tabular.validate import CellError, Sheet, validate_rows
from slrt.platform.tabular.write import ErrorReport

Sink = Callable[[list[tuple[int, dict[str, Any]]]], dict[str, int]]
Checkpoint = Callable[..., None]


@dataclass
class ImportOutcome:
    kind: str
    encoding: str | None
    delimiter: str | None
    rows: int = 0
    good: int = 0
    bad: int = 0
    errors: int = 0
    written: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    report: ErrorReport | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "file_kind": self.kind,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "good_rows": self.good,
            "bad_rows": self.bad,
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
            **self.written,
        }


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value


class RowsHeld(Exception):
    """The row allowance ran out: rows up to `last_row` are written and checkpointed."""

    def __init__(self, last_row: int) -> None:
        super().__init__(last_row)
        self.last_row = last_row


class OneBehind:
    """One write at a time on one helper thread, started while the caller goes on (validating
    the next batch). The helper uses the caller's database session and context variables
    (district, app), so a batch and its checkpoint commit in the caller's transaction; the
    caller waits for the running write before it starts another or touches the session."""

    def __init__(self, *, inline: bool = False) -> None:
        self._session = db.session()
        self._context = contextvars.copy_context()
        self._pool = None if inline else ThreadPoolExecutor(1, thread_name_prefix="slrt-import")
        self._pending: Future[None] | None = None

    def _run(self, fn: Callable[[], None]) -> None:
        db.session.registry.set(self._session)
        try:
            fn()
        finally:
            db.session.registry.clear()  # the session stays the caller's

    def submit(self, fn: Callable[[], None]) -> None:
        self.wait()
        if self._pool is None:
            fn()  # inline: written before the caller goes on
            return
        self._pending = self._pool.submit(self._context.run, self._run, fn)

    def wait(self) -> None:
        """Until the running write is done; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for a running write without raising its error (called when another error is
        already on its way, or after `wait`)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def run_import(
    path: Path,
    sheet: Sheet,
    sink: Sink,
    workdir: Path,
    *,
    checkpoint: Checkpoint | None = None,
    resume_after: int = 0,
    written_before: dict[str, int] | None = None,
    batch_size: int = 1000,
    total_hint: int | None = None,
    max_bytes: int | None = None,
    allow: Callable[[int, int], int] | None = None,
    conflicts: Callable[[], Iterable[CellError]] | None = None,
    reshape: Callable[[Iterator[tuple[int, list[Any]]]], Iterator[tuple[int, list[Any]]]]
    | None = None,
    overlap: bool = False,
) -> ImportOutcome:
    info, rows = iter_rows(path, max_bytes=max_bytes)
    if reshape is not None:
        rows = reshape(rows)  # e.g. a header mapped by hand, title rows above it dropped
    report = ErrorReport(workdir)
    outcome = ImportOutcome(info.kind, None, None, report=report)
    outcome.written = dict(written_before or {})
    header: dict[str, Any] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    last_row = resume_after
    flushed_at = 0

    def write(batch: list[tuple[int, dict[str, Any]]], seen: dict[str, Any]) -> None:
        # On the helper thread: `seen` is the outcome as it stood when the batch was handed
        # over (the caller's counters have moved on since).
        nonlocal last_row
        held = False
        if batch and allow is not None:
            # A quota (import rows per day) may allow only part of the batch now: write that
            # part, checkpoint after its last row, and stop; the rest is read again on resume.
            granted = allow(batch[0][0], len(batch))
            if granted < len(batch):
                held, batch = True, batch[:granted]
        if batch:
            _add(outcome.written, sink(batch))
            last_row = batch[-1][0]
        if checkpoint is not None:
            rows, bad = seen["rows"], seen["bad_rows"]
            checkpoint(
                rows,
                total_hint,
                f"{rows} baris diperiksa, {bad} bermasalah / {rows} rows checked, {bad} with errors",
                counts=seen | outcome.written,
                state={"row": last_row, "written": dict(outcome.written)},
            )
        if held:
            raise RowsHeld(last_row)

    def flush() -> None:
        nonlocal batch, flushed_at
        outcome.encoding, outcome.delimiter = info.encoding, info.delimiter
        outcome.ignored_columns = header.get("ignored_columns", [])
        flushed_at = outcome.rows
        handed, seen, batch = batch, outcome.summary(), []
        behind.submit(lambda: write(handed, seen))

    behind = OneBehind(inline=not overlap)
    prepare = getattr(sink, "prepare", None)
    try:
        for v in validate_rows(sheet, rows, header_out=header):
            outcome.rows += 1
            if v.values is None:
                outcome.bad += 1
                outcome.errors += len(v.errors)
                report.add(v.errors)
                continue
            outcome.good += 1
            if v.row <= resume_after:
                continue  # written by an earlier attempt (checkpointed with its batch)
            batch.append((v.row, v.values))
            if prepare is not None:
                prepare(v.row, v.values)
            if len(batch) >= batch_size:
                flush()
            elif outcome.rows - flushed_at >= batch_size:
                flush()  # progress also moves through long runs of bad rows
        flush()
        behind.wait()
        for error in conflicts() if conflicts is not None else ():
            report.add([error])
            outcome.errors += 1
    finally:
        behind.close()
        report.close()
    return outcome
