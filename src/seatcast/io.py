"""Reading tweet files in chunks, with an account of every row.

Formats (``.gz`` of each is read directly):

* ``csv`` and ``tsv``: a header row, RFC 4180 quoting, multi-line quoted fields, CRLF or LF;
* ``jsonl``: one JSON object per line;
* ``semeval``: ``id<TAB>label<TAB>text`` without quoting, as in the SemEval-2017 Task 4
  files. ``\\uXXXX`` escapes in the text are decoded, and a line without tabs or with one
  tab that does not start a new record continues the previous record's text;
* ``fields``: tab-separated without quoting or header; ``columns`` names the fields.

A UTF-8 byte order mark is skipped. Bytes that are not valid in the file's encoding do not
stop the read: the row that contains them is rejected with its line number. Blank lines, and
records whose fields are all blank, are not rows. Every row that is read ends up in the
:class:`RowLedger` as used, excluded (a planned drop, such as a duplicate) or rejected
(unusable input, such as an empty text), so that
``rows_read == rows_used + rows_excluded + rows_rejected`` for every run.

Files are opened and cut into lines by :mod:`seatcast.io_text`; CSV and TSV records come from
:mod:`seatcast.io_csv`, which also describes how a stray quote is contained.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from seatcast.config import DEFAULT_LABEL_MAP, LABELS, LimitSettings, SourceSpec
from seatcast.errors import ConfigError, DataError
from seatcast.io_csv import _CsvBatch, _CsvRecords, _is_blank
from seatcast.io_records import _iter_records, _JsonlColumnCheck
from seatcast.io_text import (
    _MOJIBAKE_RE,
    _SURROGATE_RE,
    REASON_BAD_BYTES,
    REASON_EMPTY_TEXT,
    REASON_MISSING_LABEL,
    REASON_MISSING_TEXT,
    REASON_NUL,
    REASON_UNKNOWN_LABEL,
    SNIPPET_CHARS,
    _open_lines,
)

__all__ = [
    "Chunk",
    "RejectedRow",
    "RowLedger",
    "detect_format",
    "read_chunks",
    "read_rows",
]

logger = logging.getLogger(__name__)

_LABEL_SET = frozenset(LABELS)

# Records parsed at a time. Each parsed record is a list that the garbage collector tracks
# until its fields are taken out, so fewer of them at once cost it less. Batches of 256 read
# a corpus of a million tweets about 10% faster than batches of 2,000 (CPython 3.11, with
# every chunk kept in memory).
_BATCH_ROWS = 256


@dataclass(frozen=True)
class RejectedRow:
    """One unusable input row: where it was and why it was rejected."""

    source: str
    line: int
    reason: str
    text: str


@dataclass
class RowLedger:
    """Counts of rows read, used, excluded and rejected, with reasons.

    Readers count ``rows_read`` and rejections. The stage that consumes the rows records what
    it used and what it left out on purpose, so that :meth:`check_balanced` holds at the end.
    """

    rows_read: int = 0
    rows_used: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_rows: list[RejectedRow] = field(default_factory=list)

    @property
    def rows_excluded(self) -> int:
        """Return the number of rows left out on purpose."""
        return sum(self.excluded.values())

    @property
    def rows_rejected(self) -> int:
        """Return the number of unusable rows."""
        return sum(self.rejected.values())

    def reject(self, source: str, line: int, reason: str, text: str) -> None:
        """Record one unusable row; its first 200 characters are kept for rejected.csv."""
        self.rejected[reason] += 1
        snippet = _SURROGATE_RE.sub("\ufffd", text[:SNIPPET_CHARS])
        self.rejected_rows.append(RejectedRow(source, line, reason, snippet))

    def exclude(self, reason: str, count: int = 1) -> None:
        """Record ``count`` rows left out on purpose for ``reason``."""
        if count:
            self.excluded[reason] += count

    def use(self, count: int = 1) -> None:
        """Record ``count`` rows that went into the result."""
        self.rows_used += count

    def check_balanced(self) -> None:
        """Raise ``AssertionError`` unless every row read is used, excluded or rejected."""
        accounted = self.rows_used + self.rows_excluded + self.rows_rejected
        if accounted != self.rows_read:
            raise AssertionError(
                f"row accounting is off: read {self.rows_read}, but used {self.rows_used} + "
                f"excluded {self.rows_excluded} + rejected {self.rows_rejected} = {accounted}"
            )

    def check_rejected_share(self, max_share: float, what: str) -> None:
        """Raise :class:`DataError` when more than ``max_share`` of the rows were rejected.

        Excluded rows do not count toward the limit.
        """
        if self.rows_read == 0:
            return
        share = self.rows_rejected / self.rows_read
        if share > max_share:
            reasons = ", ".join(f"{reason}: {n}" for reason, n in self.rejected.most_common())
            hint = ""
            if self.rejected[REASON_BAD_BYTES] * 2 >= self.rows_rejected:
                hint = (
                    " Most of them hold bytes that are invalid in the file's encoding: set "
                    "`encoding` for the file (for example latin-1 or cp1252)."
                )
            first = ""
            if self.rejected_rows:
                row = self.rejected_rows[0]
                first = f" The first is {row.source} line {row.line}."
            raise DataError(
                f"{what}: {self.rows_rejected} of {self.rows_read} rows ({share:.1%}) were "
                f"rejected, above limits.max_rejected_share = {max_share:.1%} "
                f"({reasons}).{first}{hint} Fix the input (see rejected.csv for each row) or "
                "raise the limit (limits.max_rejected_share in a config, --max-rejected-share "
                "for preprocess and evaluate)."
            )

    def summary(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict."""
        return {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_excluded": self.rows_excluded,
            "rows_rejected": self.rows_rejected,
            "excluded": dict(self.excluded.most_common()),
            "rejected": dict(self.rejected.most_common()),
        }


@dataclass
class Chunk:
    """Consecutive usable rows of one file.

    ``lines`` are 1-based line numbers of where each row starts. ``labels`` holds a label per
    row when the rows were read as labelled data, else ``None``. ``extras`` holds the values of
    extra columns (date, user, location) by column name.
    """

    source: str
    lines: list[int]
    texts: list[str]
    labels: list[str] | None = None
    extras: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def first_line(self) -> int:
        """Return the line where the chunk's first row starts."""
        return self.lines[0] if self.lines else 0


# ---------------------------------------------------------------------------------------------
# File formats


def detect_format(path: Path) -> str:
    """Return the format implied by a file name, or raise :class:`ConfigError`."""
    name = path.name.lower().removesuffix(".gz")
    for suffix, name_format in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".jsonl", "jsonl"),
        (".json", "jsonl"),
        (".ndjson", "jsonl"),
    ):
        if name.endswith(suffix):
            return name_format
    raise ConfigError(
        f"cannot tell the format of {path} from its name; set `format` to one of "
        "csv, tsv, jsonl, semeval or fields for this file in the config, or pass --format "
        "to `seatcast preprocess`."
    )


# ---------------------------------------------------------------------------------------------
# Public readers


def _map_label(raw: str | None, label_map: dict[str, str]) -> str | None:
    if raw is None:
        return None
    key = raw.strip().lower()
    return label_map.get(key) or label_map.get(raw.strip())


class _RowChecks:
    """Checks of each row's values in one file. Unusable rows are rejected into the ledger;
    what only the whole file shows is raised or logged by :meth:`finish`."""

    def __init__(self, spec: SourceSpec, ledger: RowLedger, labelled: bool):
        self.source = str(spec.path)
        self.ledger = ledger
        self.labelled = labelled
        self.text_column = spec.text_column
        self.label_column = spec.label_column or ("label" if labelled else None)
        self.label_map = {**DEFAULT_LABEL_MAP, **{k.lower(): v for k, v in spec.label_map.items()}}
        self.extra_columns = [
            name for name in (spec.date_column, spec.user_column, spec.location_column) if name
        ]
        self.wanted = [spec.text_column, *self.extra_columns] + (
            [self.label_column] if labelled else []
        )
        self.jsonl_check = _JsonlColumnCheck(self.source, spec.text_column)
        self.n_mojibake = 0
        # Positions of the wanted columns in a CSV header, set by the first CSV batch.
        self._header: list[str] | None = None
        self._text_index = 0
        self._label_index = 0
        self._extra_indices: list[int] = []
        self._extra_positions: dict[str, int] = {}

    def check(
        self,
        number: int,
        text: str | None,
        raw_label: str | None,
        extra_values: list[str | None],
        record: dict[str, Any] | None = None,
    ) -> tuple[str, str | None] | None:
        """Return ``(text, label)`` of a usable row, or reject the row and return ``None``.

        ``record`` is the whole record in formats whose records may lack the text field.
        """
        ledger = self.ledger
        source = self.source
        values = [text or "", raw_label or "", *(value or "" for value in extra_values)]
        if any(not value.isascii() and _SURROGATE_RE.search(value) for value in values):
            ledger.reject(source, number, REASON_BAD_BYTES, text or "")
            return None
        # NUL bytes are not text; a run of them is what a crash leaves in a file.
        if any("\x00" in value for value in values):
            ledger.reject(source, number, REASON_NUL, (text or "").replace("\x00", "\\0"))
            return None
        if text is None and record is not None and self.text_column not in record:
            shown = json.dumps(record, ensure_ascii=False)
            ledger.reject(source, number, f"{REASON_MISSING_TEXT} {self.text_column!r}", shown)
            return None
        if text is None or not text.strip():
            ledger.reject(source, number, REASON_EMPTY_TEXT, text or "")
            return None
        label = None
        if self.labelled:
            if raw_label is None or not raw_label.strip():
                ledger.reject(source, number, REASON_MISSING_LABEL, text)
                return None
            label = _map_label(raw_label, self.label_map)
            if label not in LABELS:
                shown = raw_label.strip()[:40]
                ledger.reject(source, number, f"{REASON_UNKNOWN_LABEL} {shown!r}", text)
                return None
        if not text.isascii() and _MOJIBAKE_RE.search(text):
            self.n_mojibake += 1
        return text, label

    def csv_chunk(self, batch: _CsvBatch, header: list[str]) -> Chunk:
        """Count the rows of one CSV batch as read and return the usable ones as a chunk."""
        self._find_columns(header)
        positions = self._extra_positions
        usable = self._usable_rows(batch)
        if usable is not None:
            texts, labels = usable
            self.ledger.rows_read += len(texts)
            extras = {
                name: list(map(itemgetter(position), batch.rows))
                for name, position in positions.items()
            }
            return Chunk(self.source, batch.lines, texts, labels, extras)
        chunk = Chunk(
            self.source, [], [], [] if self.labelled else None, {name: [] for name in positions}
        )
        for number, text, label, row in self._checked_rows(batch):
            chunk.lines.append(number)
            chunk.texts.append(text)
            if chunk.labels is not None:
                chunk.labels.append(label)
            for name, position in positions.items():
                chunk.extras[name].append(row[position])
        return chunk

    def csv_rows(
        self, batch: _CsvBatch, header: list[str]
    ) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
        """Yield the usable rows of one CSV batch, each counted as read when it is reached."""
        self._find_columns(header)
        positions = self._extra_positions
        usable = self._usable_rows(batch)
        if usable is None:
            for number, text, label, row in self._checked_rows(batch):
                yield number, text, label, {name: row[index] for name, index in positions.items()}
            return
        texts, labels = usable
        if labels is None:
            labels = [None] * len(texts)
        for number, text, label, row in zip(batch.lines, texts, labels, batch.rows, strict=True):
            self.ledger.rows_read += 1
            yield number, text, label, {name: row[index] for name, index in positions.items()}

    def _find_columns(self, header: list[str]) -> None:
        if header is self._header:
            return
        self._header = header
        self._text_index = header.index(self.text_column)
        if self.labelled:
            self._label_index = header.index(self.label_column)
        self._extra_indices = [header.index(name) for name in self.extra_columns]
        self._extra_positions = {
            name: header.index(name) for name in dict.fromkeys(self.extra_columns)
        }

    def _usable_rows(self, batch: _CsvBatch) -> tuple[list[str], list[str] | None] | None:
        """Return the texts and labels of a batch whose rows are all usable as they are, or
        ``None`` when its rows must go through :meth:`check` one by one."""
        if not (batch.clean and batch.full):
            return None
        # A clean batch contains no NUL character or surrogate, so once no text is blank and
        # every label is known, every row is usable.
        texts = list(map(itemgetter(self._text_index), batch.rows))
        if not all(map(str.strip, texts)):
            return None
        labels = None
        if self.labelled:
            raw_labels = list(map(itemgetter(self._label_index), batch.rows))
            if not all(map(str.strip, raw_labels)):
                return None
            labels = [_map_label(raw, self.label_map) for raw in raw_labels]
            if not _LABEL_SET.issuperset(labels):
                return None
        if batch.maybe_mojibake:
            self.n_mojibake += sum(
                1 for text in texts if not text.isascii() and _MOJIBAKE_RE.search(text)
            )
        return texts, labels

    def _checked_rows(self, batch: _CsvBatch) -> Iterator[tuple[int, str, str | None, list[str]]]:
        """Yield ``(line, text, label, fields)`` of the usable rows of a batch, checked one by
        one; blank records are skipped, as they are no rows."""
        for number, row in zip(batch.lines, batch.rows, strict=True):
            if _is_blank(row):
                continue
            self.ledger.rows_read += 1
            raw_label = row[self._label_index] if self.labelled else None
            extra_values = [row[index] for index in self._extra_indices]
            checked = self.check(number, row[self._text_index], raw_label, extra_values)
            if checked is not None:
                yield number, checked[0], checked[1], row

    def finish(self) -> None:
        """Raise or warn about what only the whole file shows."""
        if self.jsonl_check.checked and not self.jsonl_check.found:
            self.jsonl_check.fail()
        if self.n_mojibake:
            logger.warning(
                "%s: %d rows contain mojibake such as 'Ã©' for 'é' (UTF-8 text decoded as "
                "latin-1 or cp1252 and saved again); they are used as they are. Re-export the "
                "data as UTF-8, or check the file's `encoding`.",
                self.source,
                self.n_mojibake,
            )


def _file_format(spec: SourceSpec, path: Path) -> str:
    return detect_format(path) if spec.format == "auto" else spec.format


@contextlib.contextmanager
def _open_csv(
    spec: SourceSpec, path: Path, checks: _RowChecks, limits: LimitSettings, file_format: str
) -> Iterator[_CsvRecords]:
    delimiter = "," if file_format == "csv" else "\t"
    with _open_lines(path, spec, limits, clean_runs=True) as lines:
        yield _CsvRecords(lines, checks.source, checks.ledger, checks.wanted, delimiter)


def _record_rows(
    spec: SourceSpec, path: Path, checks: _RowChecks, limits: LimitSettings, file_format: str
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    """Yield the usable rows of a JSON Lines, SemEval or fields file."""
    records = _iter_records(spec, path, checks.ledger, limits, checks.wanted, file_format)
    text_column = checks.text_column
    label_column = checks.label_column if checks.labelled else None
    extra_columns = checks.extra_columns
    for number, record in records:
        checks.jsonl_check.see(record)
        text = record.get(text_column)
        raw_label = record.get(label_column) if label_column else None
        extra_values = [record.get(name) for name in extra_columns] if extra_columns else []
        checked = checks.check(number, text, raw_label, extra_values, record)
        if checked is not None:
            extras = {name: record.get(name) or "" for name in extra_columns}
            yield number, checked[0], checked[1], extras


def read_rows(
    spec: SourceSpec,
    *,
    root: Path,
    ledger: RowLedger,
    labelled: bool,
    limits: LimitSettings | None = None,
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    """Yield the usable rows of one file as ``(line, text, label, extras)``.

    Parameters
    ----------
    spec : SourceSpec
        The file and how to read it.
    root : Path
        The folder that relative paths are resolved against.
    ledger : RowLedger
        Receives ``rows_read`` and every rejection.
    labelled : bool
        Whether rows must carry a label in ``spec.label_column``. Labels are mapped to
        ``negative``, ``neutral`` or ``positive``; a row with any other label is rejected.
    limits : LimitSettings, default=None
        File size and line length limits; the defaults when ``None``.

    Raises
    ------
    DataError
        If the file is missing, empty, truncated or cannot be read, or its header is broken.
    ConfigError
        If a configured column is not in the file or the encoding is unknown.

    Notes
    -----
    A stray quote that happens to be closed by another stray quote further down, with the
    right number of fields in between, cannot be told from a quoted multi-line text: the
    lines in between become part of that row's text.
    """
    limits = limits or LimitSettings()
    path = _resolve(spec, root)
    checks = _RowChecks(spec, ledger, labelled)
    file_format = _file_format(spec, path)
    if file_format in ("csv", "tsv"):
        with _open_csv(spec, path, checks, limits, file_format) as records:
            # Each row is counted in the ledger only when it is yielded.
            while (batch := records.read_batch(_BATCH_ROWS)) is not None:
                yield from checks.csv_rows(batch, records.header)
    else:
        yield from _record_rows(spec, path, checks, limits, file_format)
    checks.finish()


def read_chunks(
    spec: SourceSpec,
    *,
    root: Path,
    ledger: RowLedger,
    labelled: bool,
    chunk_size: int,
    limits: LimitSettings | None = None,
) -> Iterator[Chunk]:
    """Yield the usable rows of one file in chunks of at most ``chunk_size`` rows.

    Only one chunk, and a few hundred kilobytes of the file, are held in memory at a time, so
    files of any size stream in bounded memory. See :func:`read_rows` for the parameters.
    """
    if chunk_size < 1:
        raise ConfigError(f"`run.chunk_size` must be at least 1; got {chunk_size}")
    limits = limits or LimitSettings()
    path = _resolve(spec, root)
    checks = _RowChecks(spec, ledger, labelled)
    file_format = _file_format(spec, path)
    chunk = _new_chunk(checks.source, labelled, spec)
    if file_format in ("csv", "tsv"):
        with _open_csv(spec, path, checks, limits, file_format) as records:
            # No more records than the chunk has room for, so that a chunk is yielded before
            # the rows after it are read.
            while (
                batch := records.read_batch(min(chunk_size - len(chunk), _BATCH_ROWS))
            ) is not None:
                _extend_chunk(chunk, checks.csv_chunk(batch, records.header))
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = _new_chunk(checks.source, labelled, spec)
    else:
        for number, text, label, extras in _record_rows(spec, path, checks, limits, file_format):
            chunk.lines.append(number)
            chunk.texts.append(text)
            if chunk.labels is not None:
                chunk.labels.append(label)
            for name, value in extras.items():
                chunk.extras[name].append(value)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = _new_chunk(checks.source, labelled, spec)
    checks.finish()
    if len(chunk):
        yield chunk


def _resolve(spec: SourceSpec, root: Path) -> Path:
    path = Path(spec.path)
    return path if path.is_absolute() else root / path


def _extend_chunk(chunk: Chunk, rows: Chunk) -> None:
    chunk.lines.extend(rows.lines)
    chunk.texts.extend(rows.texts)
    if chunk.labels is not None:
        chunk.labels.extend(rows.labels)
    for name, values in rows.extras.items():
        chunk.extras[name].extend(values)


def _new_chunk(source: str, labelled: bool, spec: SourceSpec) -> Chunk:
    extra_columns = [
        name for name in (spec.date_column, spec.user_column, spec.location_column) if name
    ]
    return Chunk(
        source=source,
        lines=[],
        texts=[],
        labels=[] if labelled else None,
        extras={name: [] for name in extra_columns},
    )
