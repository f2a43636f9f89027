"""Reading tweet files in chunks, with an account of every row.

Formats (``.gz`` of each is read directly):

* ``csv`` and ``tsv``: a header row, RFC 4180 quoting, multi-line quoted fields, CRLF or LF;
* ``jsonl``: one JSON object per line;
* ``semeval``: ``id<TAB>label<TAB>text`` without quoting, as in the SemEval-2017 Task 4
  files. ``\\uXXXX`` escapes in the text are decoded, and a line that does not start a new
  record continues the previous record's text;
* ``fields``: tab-separated without quoting or header; ``columns`` names the fields.

A UTF-8 byte order mark is skipped. Bytes that are not valid in the file's encoding do not
stop the read: the row that holds them is rejected with its line number. Blank lines are not
rows. Every row that is read ends up in the :class:`RowLedger` as used, excluded (a planned
drop, such as a duplicate) or rejected (unusable input, such as an empty text), so that
``rows_read == rows_used + rows_excluded + rows_rejected`` for every run.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from seatcast.config import DEFAULT_LABEL_MAP, LABELS, LimitSettings, SourceSpec
from seatcast.errors import ConfigError, DataError

__all__ = [
    "Chunk",
    "RejectedRow",
    "RowLedger",
    "detect_format",
    "read_chunks",
    "read_rows",
]

logger = logging.getLogger(__name__)

# Rejection reasons, as written to rejected.csv and the run summary.
REASON_BAD_BYTES = "invalid bytes for the file encoding"
REASON_EMPTY_TEXT = "empty text"
REASON_UNKNOWN_LABEL = "unknown label"
REASON_MISSING_LABEL = "missing label"
REASON_FIELD_COUNT = "wrong number of fields"
REASON_BAD_JSON = "invalid JSON"
REASON_NOT_OBJECT = "JSON line is not an object"
REASON_BAD_CSV = "malformed CSV"
REASON_LINE_TOO_LONG = "line longer than limits.max_line_bytes"
REASON_BAD_RECORD = "malformed record"

SNIPPET_CHARS = 200

_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_UNICODE_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SEMEVAL_START_RE = re.compile(r"^\d+\t[^\t\n]+\t")


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
        """Record one unusable row."""
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
            raise DataError(
                f"{what}: {self.rows_rejected} of {self.rows_read} rows ({share:.1%}) were "
                f"rejected, above limits.max_rejected_share = {max_share:.1%} ({reasons}). "
                "Fix the input (see rejected.csv for each row) or raise the limit in the config."
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
# Opening files


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
        "csv, tsv, jsonl, semeval or fields for this file in the config."
    )


def _open_binary(path: Path, limits: LimitSettings) -> IO[bytes]:
    if not path.exists():
        raise DataError(f"input file not found: {path}. Check the path in the config or command.")
    if path.is_dir():
        raise DataError(f"input path {path} is a folder; give a file.")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise DataError(
            f"input file {path} is {size:,} bytes, above limits.max_file_bytes = "
            f"{limits.max_file_bytes:,}. Split the file or raise the limit."
        )
    if size == 0:
        raise DataError(f"input file {path} is empty; give a file with a header and rows.")
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller's context manager
    magic = handle.read(2)
    handle.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")
    return handle


@contextlib.contextmanager
def _open_text(path: Path, spec: SourceSpec, limits: LimitSettings, newline: str | None):
    try:
        codecs.lookup(spec.encoding)
    except LookupError:
        raise ConfigError(
            f"`encoding` {spec.encoding!r} for {path} is not a known text encoding; "
            "use for example utf-8 or latin-1."
        ) from None
    encoding = "utf-8-sig" if codecs.lookup(spec.encoding).name == "utf-8" else spec.encoding
    raw = _open_binary(path, limits)
    # surrogateescape keeps undecodable bytes as lone surrogates, so that a bad row is rejected
    # with its line number and the read goes on.
    text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline=newline)
    try:
        yield text
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"cannot read {path}: {error}. The file may be truncated.") from None
    finally:
        text.close()


# ---------------------------------------------------------------------------------------------
# Raw records: (line, mapping of column to value) or a rejection


def _read_lines(stream: IO[str], limits: LimitSettings) -> Iterator[tuple[int, str | None, str]]:
    """Yield ``(line_number, text_or_None, raw)`` for each line; ``None`` marks a line that is
    too long, of which only the start is kept in ``raw``."""
    number = 0
    limit = limits.max_line_bytes
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith("\n"):
            start = line[:SNIPPET_CHARS]
            while line and not line.endswith("\n"):
                line = stream.readline(limit + 1)
            yield number, None, start
            continue
        yield number, line.rstrip("\n").removesuffix("\r"), line


def _decode_escapes(text: str) -> str:
    if "\\u" not in text:
        return text
    decoded = _UNICODE_ESCAPE_RE.sub(lambda match: chr(int(match.group(1), 16)), text)
    # Escaped surrogate pairs (emoji) become real characters here; an unpaired one stays as is.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _records_semeval(stream, source, limits, ledger, columns):
    pending: tuple[int, dict[str, str]] | None = None
    for number, line, raw in _read_lines(stream, limits):
        if line is None:
            ledger.rows_read += 1
            ledger.reject(source, number, REASON_LINE_TOO_LONG, raw)
            continue
        if not line.strip():
            continue
        if _SEMEVAL_START_RE.match(line) or pending is None:
            if pending is not None:
                yield pending
            parts = line.split("\t", 2)
            ledger.rows_read += 1
            if len(parts) < 3:
                ledger.reject(source, number, REASON_FIELD_COUNT, line)
                pending = None
                continue
            tweet_id, label, text = parts
            pending = (number, {"id": tweet_id, "label": label, "text": text.rstrip("\t")})
        else:
            # A record whose text contains a line break continues on this line.
            pending[1]["text"] += "\n" + line.rstrip("\t")
    if pending is not None:
        yield pending


def _records_fields(stream, source, limits, ledger, columns):
    expected = len(columns)
    for number, line, raw in _read_lines(stream, limits):
        if line is None:
            ledger.rows_read += 1
            ledger.reject(source, number, REASON_LINE_TOO_LONG, raw)
            continue
        if not line.strip():
            continue
        ledger.rows_read += 1
        parts = line.split("\t")
        while len(parts) > expected and parts[-1] == "":
            parts.pop()
        if len(parts) != expected:
            ledger.reject(
                source,
                number,
                f"{REASON_FIELD_COUNT} (expected {expected}, got {len(parts)})",
                line,
            )
            continue
        yield number, dict(zip(columns, parts, strict=True))


def _records_jsonl(stream, source, limits, ledger, columns):
    for number, line, raw in _read_lines(stream, limits):
        if line is None:
            ledger.rows_read += 1
            ledger.reject(source, number, REASON_LINE_TOO_LONG, raw)
            continue
        if not line.strip():
            continue
        ledger.rows_read += 1
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            reason = f"{REASON_BAD_JSON} ({getattr(error, 'msg', 'nested too deeply')})"
            ledger.reject(source, number, reason, line)
            continue
        if not isinstance(record, dict):
            ledger.reject(source, number, REASON_NOT_OBJECT, line)
            continue
        yield number, {key: _json_value(value) for key, value in record.items()}


def _json_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _records_csv(stream, source, limits, ledger, columns, delimiter):
    csv.field_size_limit(limits.max_line_bytes)
    reader = csv.reader(stream, delimiter=delimiter)
    header: list[str] | None = None
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            previous_end = reader.line_num
            if header is None:
                raise DataError(f"{source}: the header row is not valid CSV ({error}).") from None
            ledger.rows_read += 1
            ledger.reject(source, start, f"{REASON_BAD_CSV} ({error})", "")
            continue
        previous_end = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = [name.strip() for name in row]
            continue
        ledger.rows_read += 1
        if len(row) != len(header):
            reason = f"{REASON_FIELD_COUNT} (expected {len(header)}, got {len(row)})"
            ledger.reject(source, start, reason, delimiter.join(row))
            continue
        yield start, dict(zip(header, row, strict=True))
    if header is None:
        raise DataError(f"{source} has no header row; the first row must name the columns.")


def _check_columns(source: str, available: list[str], wanted: list[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ConfigError(
            f"column {missing[0]!r} not found in {source}; its columns are "
            f"{', '.join(map(repr, available))}. Set the right name in the config "
            "(text_column, label_column, date_column, user_column or location_column)."
        )


def _iter_records(spec: SourceSpec, path: Path, ledger: RowLedger, limits: LimitSettings):
    """Yield ``(line, record)`` pairs from one file, rejecting broken records."""
    source = str(spec.path)
    file_format = detect_format(path) if spec.format == "auto" else spec.format
    if file_format in ("csv", "tsv"):
        delimiter = "," if file_format == "csv" else "\t"
        with _open_text(path, spec, limits, newline="") as stream:
            yield from _records_csv(stream, source, limits, ledger, None, delimiter)
        return
    readers = {"semeval": _records_semeval, "fields": _records_fields, "jsonl": _records_jsonl}
    columns = spec.columns or (["id", "label", "text"] if file_format == "semeval" else [])
    with _open_text(path, spec, limits, newline="\n") as stream:
        for number, record in readers[file_format](stream, source, limits, ledger, columns):
            if file_format == "semeval":
                record["text"] = _decode_escapes(record["text"])
            yield number, record


# ---------------------------------------------------------------------------------------------
# Public readers


def _map_label(raw: str | None, label_map: dict[str, str]) -> str | None:
    if raw is None:
        return None
    key = raw.strip().lower()
    return label_map.get(key) or label_map.get(raw.strip())


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
        If the file is missing, empty or cannot be read.
    ConfigError
        If a configured column is not in the file.
    """
    limits = limits or LimitSettings()
    path = Path(spec.path)
    path = path if path.is_absolute() else root / path
    source = str(spec.path)
    label_column = spec.label_column or ("label" if labelled else None)
    label_map = {**DEFAULT_LABEL_MAP, **{k.lower(): v for k, v in spec.label_map.items()}}
    extra_columns = [
        name for name in (spec.date_column, spec.user_column, spec.location_column) if name
    ]
    wanted = [spec.text_column, *extra_columns] + ([label_column] if labelled else [])
    checked = False
    for number, record in _iter_records(spec, path, ledger, limits):
        if not checked:
            _check_columns(source, list(record), wanted)
            checked = True
        text = record.get(spec.text_column)
        raw_label = record.get(label_column) if labelled else None
        values = [text or "", raw_label or "", *(record.get(name) or "" for name in extra_columns)]
        if any(_SURROGATE_RE.search(value) for value in values):
            ledger.reject(source, number, REASON_BAD_BYTES, text or "")
            continue
        if text is None or not text.strip():
            ledger.reject(source, number, REASON_EMPTY_TEXT, text or "")
            continue
        label = None
        if labelled:
            if raw_label is None or not raw_label.strip():
                ledger.reject(source, number, REASON_MISSING_LABEL, text)
                continue
            label = _map_label(raw_label, label_map)
            if label not in LABELS:
                ledger.reject(source, number, f"{REASON_UNKNOWN_LABEL} {raw_label.strip()!r}", text)
                continue
        extras = {name: record.get(name) or "" for name in extra_columns}
        yield number, text, label, extras


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

    Only one chunk is held in memory at a time, so files of any size stream in bounded
    memory. See :func:`read_rows` for the parameters.
    """
    if chunk_size < 1:
        raise ConfigError(f"`run.chunk_size` must be at least 1; got {chunk_size}")
    source = str(spec.path)
    chunk = _new_chunk(source, labelled, spec)
    for number, text, label, extras in read_rows(
        spec, root=root, ledger=ledger, labelled=labelled, limits=limits
    ):
        chunk.lines.append(number)
        chunk.texts.append(text)
        if chunk.labels is not None:
            chunk.labels.append(label)
        for name, value in extras.items():
            chunk.extras[name].append(value)
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = _new_chunk(source, labelled, spec)
    if len(chunk):
        yield chunk


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
