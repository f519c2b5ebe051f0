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
- A sink may have `prepare(row, values)`: called for each good row as it is read (without
  the database), so the sink's own Python work on a row is done with the reading; what it
  returns comes back with the batch, as `sink(batch, prepared)` (one item per row).
- Overlap (`overlap=True`): the file is read, validated and prepared in a forked process
  (`_read_ahead`) while the caller writes the batch before, so the database works on one batch
  while Python checks the next. The caller writes on its own thread, in its own session and
  transaction; `prepare` then runs in the other process, so it may keep no state the write
  needs. A write's error stops the reading; a reading error is raised in the caller.
- `reshape` sees the raw rows before validation (a file whose header the user mapped by hand:
  its header row replaced by the column names, the title rows above it dropped).
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slrt.platform.tabular.read import TabularFile, iter_rows
from slrt.platform.tabular.validate import CellError, Sheet, validate_rows
from slrt.platform.tabular.write import ErrorReport

Sink = Callable[..., dict[str, int]]  # sink(batch) or, with `prepare`, sink(batch, prepared)
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


@dataclass
class Chunk:
    """What reading hands writing: a batch of good rows, what the sink's `prepare` made of each,
    the errors of the bad rows read since the chunk before, and the file's counts as they stood
    at the chunk's last row (nothing written yet, no report)."""

    batch: list[tuple[int, dict[str, Any]]]
    prepared: list[Any] | None
    errors: list[CellError]
    counts: ImportOutcome


def _chunks(
    info: TabularFile,
    rows: Iterator[tuple[int, list[Any]]],
    sheet: Sheet,
    *,
    resume_after: int,
    batch_size: int,
    prepare: Callable[[int, dict[str, Any]], Any] | None,
) -> Iterator[Chunk]:
    """The file validated into chunks of `batch_size` good rows (or as many rows read, so
    progress moves through a long run of bad rows); the last chunk may be empty."""
    counts = ImportOutcome(info.kind, None, None)
    header: dict[str, Any] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    prepared: list[Any] = []
    errors: list[CellError] = []
    read_at_last = 0

    def chunk() -> Chunk:
        nonlocal batch, prepared, errors, read_at_last
        counts.encoding, counts.delimiter = info.encoding, info.delimiter
        counts.ignored_columns = header.get("ignored_columns", [])
        read_at_last = counts.rows
        done = Chunk(
            batch, prepared if prepare is not None else None, errors, dataclasses.replace(counts)
        )
        batch, prepared, errors = [], [], []
        return done

    for v in validate_rows(sheet, rows, header_out=header):
        counts.rows += 1
        if v.values is None:
            counts.bad += 1
            counts.errors += len(v.errors)
            errors.extend(v.errors)
        else:
            counts.good += 1
            if v.row <= resume_after:
                continue  # written by an earlier attempt (checkpointed with its batch)
            batch.append((v.row, v.values))
            if prepare is not None:
                prepared.append(prepare(v.row, v.values))
        if len(batch) >= batch_size or counts.rows - read_at_last >= batch_size:
            yield chunk()
    yield chunk()


def _read_ahead(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """`chunks` made in a forked process, one chunk ahead of the caller: the reading process
    has its own interpreter lock, so validating the next batch no longer competes with the
    caller's Python between its statements, and a write's answer is taken up at once.

    The child only reads the file and computes: it touches neither the database nor Redis (the
    parent's sockets it inherited are left alone, and it leaves by `os._exit`, so nothing is
    closed on the parent's behalf). A chunk waits in the pipe until the caller asks for it, so
    memory holds at most the chunk being written and the one after it. The child's error is
    raised here; if the caller stops early (its write failed), the child is stopped."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else the child would write what is buffered a second time
    child = context.Process(
        target=_send_chunks, args=(chunks, send, receive), name="slrt-import-reader", daemon=True
    )
    child.start()
    send.close()
    kind = "chunk"
    try:
        while kind == "chunk":
            try:
                kind, payload = receive.recv()
            except EOFError:
                kind = "gone"
                raise RuntimeError(
                    f"the import's reading process ended without a word (exit {child.exitcode})"
                ) from None
            if kind == "error":
                raise payload
            if kind == "chunk":
                yield payload
    finally:
        receive.close()
        if kind == "chunk":
            child.kill()  # the caller stopped early: what the child reads now is not wanted
        child.join()


def _send_chunks(chunks: Iterator[Chunk], send: Connection, receive: Connection) -> None:
    # What the child inherited (the whole app) is kept out of its garbage collections: each full
    # one would walk it all, and copy every page it touches (measured: a tenth of its CPU).
    gc.freeze()
    receive.close()  # the parent's end: were it held here too, a dead parent would go unnoticed
    try:
        try:
            for chunk in chunks:
                send.send(("chunk", chunk))
            send.send(("done", None))
        except (BrokenPipeError, ConnectionResetError):
            return  # the caller stopped reading (its write failed): nothing to say
        except BaseException as exc:
            exc.add_note("In the import's reading process:\n" + traceback.format_exc())
            try:
                send.send(("error", exc))
            except Exception:
                send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()


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
    info, rows = iter_rows(path, max_bytes=max_bytes)  # a file refused outright is refused here
    if reshape is not None:
        rows = reshape(rows)  # e.g. a header mapped by hand, title rows above it dropped
    prepare = getattr(sink, "prepare", None)
    chunks = _chunks(
        info, rows, sheet, resume_after=resume_after, batch_size=batch_size, prepare=prepare
    )
    if overlap:
        chunks = _read_ahead(chunks)
    report = ErrorReport(workdir)
    written = dict(written_before or {})
    last_row = resume_after

    def write(chunk: Chunk) -> None:
        nonlocal last_row
        batch, prepared, held = chunk.batch, chunk.prepared, False
        if batch and allow is not None:
            # A quota (import rows per day) may allow only part of the batch now: write that
            # part, checkpoint after its last row, and stop; the rest is read again on resume.
            granted = allow(batch[0][0], len(batch))
            if granted < len(batch):
                held, batch = True, batch[:granted]
                prepared = prepared[:granted] if prepared is not None else None
        if batch:
            _add(written, sink(batch) if prepared is None else sink(batch, prepared))
            last_row = batch[-1][0]
        if checkpoint is not None:
            rows, bad = chunk.counts.rows, chunk.counts.bad
            checkpoint(
                rows,
                total_hint,
                f"{rows} baris diperiksa, {bad} bermasalah / {rows} rows checked, {bad} with errors",
                counts=chunk.counts.summary() | written,
                state={"row": last_row, "written": dict(written)},
            )
        if held:
            raise RowsHeld(last_row)

    try:
        for chunk in chunks:  # the last one always comes, with the file's final counts
            report.add(chunk.errors)
            write(chunk)
        outcome = chunk.counts
        outcome.written, outcome.report = written, report
        for error in conflicts() if conflicts is not None else ():
            report.add([error])
            outcome.errors += 1
    finally:
        chunks.close()
        report.close()
    return outcome
