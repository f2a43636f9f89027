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

A stray quote in a CSV file would otherwise swallow every following line into one field. When
a record that spans several lines turns out broken (wrong number of fields, or longer than
``limits.max_line_bytes``), only its first line is rejected and parsing starts again on the
next line, so that the rows after a stray quote are read rather than lost.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import io
import json
import logging
import re
import zlib
from collections import Counter, deque
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
REASON_NUL = "NUL bytes in the row"
REASON_LONE_SURROGATE = "lone UTF-16 surrogate escape in JSON"
REASON_EMPTY_TEXT = "empty text"
REASON_MISSING_TEXT = "no text field"
REASON_UNKNOWN_LABEL = "unknown label"
REASON_MISSING_LABEL = "missing label"
REASON_FIELD_COUNT = "wrong number of fields"
REASON_BAD_JSON = "invalid JSON"
REASON_NOT_OBJECT = "JSON line is not an object"
REASON_BAD_CSV = "malformed CSV"
REASON_UNBALANCED_QUOTE = "malformed CSV (unbalanced quote)"
REASON_LINE_TOO_LONG = "line longer than limits.max_line_bytes"
REASON_BAD_RECORD = "malformed record"

SNIPPET_CHARS = 200

# A JSON Lines file whose first this many objects all lack the text field is misconfigured.
JSONL_COLUMN_CHECK_ROWS = 100

# Any UTF-16 surrogate: undecodable bytes (kept as U+DC80-U+DCFF by surrogateescape) and
# lone surrogates from JSON escapes. Neither can be written as UTF-8.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_UNICODE_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")
# A SemEval record starts with a numeric id and a tab; any other line without two tabs is
# the continuation of a text that contains a line break.
_SEMEVAL_START_RE = re.compile(r"^\d+\t")
# UTF-8 text that was decoded as latin-1 or cp1252 and saved again: "é" becomes "Ã©" and
# "’" becomes "â€™".
_MOJIBAKE_RE = re.compile(
    r"""
    [\u00c2\u00c3][\u0080-\u00bf]        # a two-byte UTF-8 sequence such as Ã© or Â
    | \u00e2\u20ac[\u0080-\u00bf\u2018-\u203a\u2122\u0153\u009d]   # â€™, â€œ, â€\x9d ...
    """,
    re.VERBOSE,
)


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


class _SizeLimitedReader(io.RawIOBase):
    """A decompressing stream that raises :class:`DataError` past ``limit`` bytes, so that a
    small compressed file cannot expand without bound."""

    def __init__(self, raw: IO[bytes], file: IO[bytes], path: Path, limit: int):
        super().__init__()
        self._raw = raw
        self._file = file
        self._path = path
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._count += len(data)
        if self._count > self._limit:
            raise DataError(
                f"input file {self._path} expands to more than limits.max_file_bytes = "
                f"{self._limit:,} bytes when decompressed. Split the file or raise the limit "
                "(limits.max_file_bytes in a config, --max-file-bytes for preprocess and "
                "evaluate)."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        # GzipFile does not close a file object it was given.
        try:
            self._raw.close()
        finally:
            self._file.close()
            super().close()


def _open_binary(path: Path, limits: LimitSettings) -> IO[bytes]:
    if not path.exists():
        raise DataError(f"input file not found: {path}. Check the path in the config or command.")
    if path.is_dir():
        raise DataError(f"input path {path} is a folder; give a file.")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise DataError(
            f"input file {path} is {size:,} bytes, above limits.max_file_bytes = "
            f"{limits.max_file_bytes:,}. Split the file or raise the limit "
            "(limits.max_file_bytes in a config, --max-file-bytes for preprocess and evaluate)."
        )
    if size == 0:
        raise DataError(f"input file {path} is empty; give a file with a header and rows.")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller's context manager
        magic = handle.read(2)
        handle.seek(0)
    except OSError as error:
        raise DataError(f"cannot open input file {path}: {error.strerror or error}.") from None
    if magic == b"\x1f\x8b":
        unpacked = gzip.GzipFile(fileobj=handle, mode="rb")
        return io.BufferedReader(_SizeLimitedReader(unpacked, handle, path, limits.max_file_bytes))
    return handle


@contextlib.contextmanager
def _open_text(path: Path, spec: SourceSpec, limits: LimitSettings):
    try:
        codec = codecs.lookup(spec.encoding)
    except LookupError:
        codec = None
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        raise ConfigError(
            f"`encoding` {spec.encoding!r} for {path} is not a known text encoding; "
            "use for example utf-8 or latin-1."
        )
    encoding = "utf-8-sig" if codec.name == "utf-8" else spec.encoding
    raw = _open_binary(path, limits)
    # surrogateescape keeps undecodable bytes as lone surrogates, so that a bad row is rejected
    # with its line number and the read goes on.
    text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="\n")
    try:
        yield text
    finally:
        with contextlib.suppress(OSError, EOFError, zlib.error):
            text.close()


# ---------------------------------------------------------------------------------------------
# Physical lines


class _LineTooLongError(Exception):
    """A physical line over the limit; the rest of it has been skipped."""

    def __init__(self, number: int, start: str):
        super().__init__(number)
        self.number = number
        self.start = start


class _RecordTooLongError(Exception):
    """A CSV record spanning several lines grew past the line limit."""


class _Lines:
    """The physical lines of a text stream, numbered from 1, with a length limit.

    A line is at most ``limits.max_line_bytes`` bytes long in the file's encoding, line
    break excluded. A longer one raises :class:`_LineTooLongError` after its rest has been read
    and dropped, so memory stays bounded. Read errors of a truncated or corrupt compressed
    file become :class:`DataError` naming the line.
    """

    def __init__(self, stream: IO[str], source: str, limits: LimitSettings, encoding: str):
        self.stream = stream
        self.source = source
        self.limit = limits.max_line_bytes
        self.encoding = encoding
        self.number = 0

    def _readline(self) -> str:
        try:
            return self.stream.readline(self.limit + 2)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"cannot read {self.source} after line {self.number}: {error}. The file may be "
                "truncated or corrupt; restore it, or cut it at the last complete line."
            ) from None
        except UnicodeError as error:
            # Bad bytes are kept by surrogateescape; this is a stream-level failure, such as
            # UTF-16 without a byte order mark.
            raise DataError(
                f"cannot decode {self.source} after line {self.number} as {self.encoding}: "
                f"{error}. Set `encoding` to the encoding the file was saved in."
            ) from None

    def _byte_length(self, text: str) -> int:
        try:
            return len(text.encode(self.encoding, "surrogateescape"))
        except (UnicodeError, LookupError):
            return len(text.encode("utf-8", "surrogatepass"))

    def next_line(self) -> str | None:
        """Return the next line with its line break, or ``None`` at the end of the file."""
        line = self._readline()
        if not line:
            return None
        self.number += 1
        ended = line.endswith("\n")
        content = line.rstrip("\r\n") if ended else line
        # readline(limit + 2) returns a shorter line without a break only at the end of the
        # file. No supported encoding takes more than 4 bytes per character, so short lines
        # skip the encode.
        complete = ended or len(line) < self.limit + 2
        if complete and (
            len(content) * 4 <= self.limit or self._byte_length(content) <= self.limit
        ):
            return line
        start = content[:SNIPPET_CHARS]
        while line and not line.endswith("\n"):
            line = self._readline()
        raise _LineTooLongError(self.number, start)


def _numbered_lines(lines: _Lines, source: str, ledger: RowLedger) -> Iterator[tuple[int, str]]:
    """Yield ``(number, line)`` without the line break; over-long lines are rejected."""
    while True:
        try:
            line = lines.next_line()
        except _LineTooLongError as error:
            ledger.rows_read += 1
            ledger.reject(source, error.number, REASON_LINE_TOO_LONG, error.start)
            continue
        if line is None:
            return
        yield lines.number, line.removesuffix("\n").removesuffix("\r")


# ---------------------------------------------------------------------------------------------
# Raw records: (line, mapping of column to value), or a rejection in the ledger


def _decode_escapes(text: str) -> str:
    if "\\u" not in text:
        return text
    decoded = _UNICODE_ESCAPE_RE.sub(lambda match: chr(int(match.group(1), 16)), text)
    # Escaped surrogate pairs (emoji) become real characters here; an unpaired one becomes
    # U+FFFD.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _records_semeval(lines, source, ledger, columns):
    pending: tuple[int, dict[str, str]] | None = None
    for number, line in _numbered_lines(lines, source, ledger):
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
        elif line.count("\t") >= 2:
            # Shaped like a record but without a numeric id: a broken record, not more text.
            ledger.rows_read += 1
            ledger.reject(source, number, f"{REASON_BAD_RECORD} (id is not a number)", line)
        else:
            # A record whose text contains a line break continues on this line.
            pending[1]["text"] += "\n" + line.rstrip("\t")
    if pending is not None:
        yield pending


def _records_fields(lines, source, ledger, columns):
    expected = len(columns)
    for number, line in _numbered_lines(lines, source, ledger):
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


def _records_jsonl(lines, source, ledger, columns):
    for number, line in _numbered_lines(lines, source, ledger):
        if not line.strip():
            continue
        ledger.rows_read += 1
        if _SURROGATE_RE.search(line):
            ledger.reject(source, number, REASON_BAD_BYTES, line)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            ledger.reject(source, number, f"{REASON_BAD_JSON} ({error.msg})", line)
            continue
        except RecursionError:
            ledger.reject(source, number, f"{REASON_BAD_JSON} (nested too deeply)", line)
            continue
        except ValueError:
            # An integer with more digits than int() accepts (sys.get_int_max_str_digits).
            ledger.reject(source, number, f"{REASON_BAD_JSON} (number too long)", line)
            continue
        if not isinstance(record, dict):
            ledger.reject(source, number, REASON_NOT_OBJECT, line)
            continue
        values = {key: _json_value(value) for key, value in record.items()}
        if any(value is not None and _SURROGATE_RE.search(value) for value in values.values()):
            ledger.reject(source, number, REASON_LONE_SURROGATE, line)
            continue
        yield number, values


def _json_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        return str(value)


# csv.reader ends a record at any \r outside quotes, but tweets hold bare \r characters that
# writers such as pandas leave unquoted. They are swapped for this character, which decoding
# never produces (surrogateescape yields U+DC80-U+DCFF only), and swapped back after parsing.
_CR_STANDIN = "\ud800"


def _hide_bare_cr(line: str) -> str:
    # A \r at the very end of the file, with no \n after it, still ends the line.
    ending = next((end for end in ("\r\n", "\n", "\r") if line.endswith(end)), "")
    body = line[: len(line) - len(ending)]
    return body.replace("\r", _CR_STANDIN) + ending


def _show_bare_cr(text: str) -> str:
    return text.replace(_CR_STANDIN, "\r") if _CR_STANDIN in text else text


class _CsvLines:
    """Physical lines fed to :func:`csv.reader`, with the lines of the record being parsed
    kept so that a broken record can be parsed again from its second line."""

    def __init__(self, lines: _Lines):
        self.lines = lines
        self.pushed_back: deque[tuple[int, str]] = deque()
        self.record: list[tuple[int, str]] = []
        self.record_chars = 0
        # Whether a bare \r was hidden since the last start_record, so rows need _show_bare_cr.
        self.hid_cr = False

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self.pushed_back:
            number, line = self.pushed_back.popleft()
        else:
            line = self.lines.next_line()
            if line is None:
                raise StopIteration
            number = self.lines.number
            # Most lines hold no \r, or only the one of a \r\n line break.
            cr = line.find("\r")
            if cr != -1 and not (cr == len(line) - 2 and line.endswith("\r\n")):
                line = _hide_bare_cr(line)
                self.hid_cr = True
        self.record.append((number, line))
        self.record_chars += len(line)
        if len(self.record) > 1 and self.record_chars > self.lines.limit:
            raise _RecordTooLongError
        return line

    def start_record(self) -> None:
        """Forget the lines of the previous record."""
        self.record = []
        self.record_chars = 0
        self.hid_cr = bool(self.pushed_back)

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        """Read ``lines`` again before any new line of the file."""
        self.pushed_back.extendleft(reversed(lines))


def _check_header(source: str, header: list[str], wanted: list[str], encoding: str) -> None:
    if any(_SURROGATE_RE.search(name) or "\x00" in name for name in header):
        raise DataError(
            f"the header row of {source} is not valid {encoding} text; the file is binary or "
            "in another encoding. Give a text file, or set its `encoding`."
        )
    _check_columns(source, header, wanted)
    for name in dict.fromkeys(wanted):
        positions = [str(i + 1) for i, column in enumerate(header) if column == name]
        if len(positions) > 1:
            raise DataError(
                f"the header of {source} names column {name!r} more than once (columns "
                f"{', '.join(positions)}); rename the copies so the column to read is clear."
            )


def _records_csv(lines, source, ledger, wanted, delimiter):
    # Our own limit on lines and records comes first; the csv module's must not be lower.
    csv.field_size_limit(max(lines.limit + 2, csv.field_size_limit()))
    feed = _CsvLines(lines)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    while True:
        feed.start_record()
        problem = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except _LineTooLongError as error:
            if header is None:
                raise DataError(
                    f"{source}: the header row is longer than limits.max_line_bytes = "
                    f"{lines.limit:,}; the file is probably not {delimiter!r}-separated text."
                ) from None
            ledger.rows_read += 1
            ledger.reject(source, error.number, REASON_LINE_TOO_LONG, error.start)
            # The lines before it were inside a quoted field that the long line cut off.
            problem = REASON_UNBALANCED_QUOTE if feed.record else None
        except _RecordTooLongError:
            problem = REASON_UNBALANCED_QUOTE
        except csv.Error as error:
            problem = f"{REASON_BAD_CSV} ({error})"
        else:
            if feed.hid_cr:
                row = [_show_bare_cr(value) for value in row]
            if not row or all(not value.strip() for value in row):
                continue
            if header is None:
                if "\r" in "".join(row):
                    raise DataError(
                        f"{source}: the header row holds a bare carriage return (\\r); the file "
                        "probably uses \\r line ends (classic Mac OS). Convert them to \\n."
                    )
                header = [name.strip().lstrip("\ufeff") for name in row]
                _check_header(source, header, wanted, lines.encoding)
                continue
            if len(row) == len(header):
                ledger.rows_read += 1
                yield feed.record[0][0], dict(zip(header, row, strict=True))
                continue
            if len(feed.record) > 1:
                problem = REASON_UNBALANCED_QUOTE
            else:
                problem = f"{REASON_FIELD_COUNT} (expected {len(header)}, got {len(row)})"
        if problem is None:
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
            continue
        if header is None:
            raise DataError(f"{source}: the header row is not valid CSV ({problem}).")
        if len(feed.record) > 1:
            # Most likely a stray quote on the record's first line: reject that line and
            # parse the lines it swallowed again.
            problem = REASON_UNBALANCED_QUOTE
        (number, first), rest = feed.record[0], feed.record[1:]
        ledger.rows_read += 1
        ledger.reject(source, number, problem, _show_bare_cr(first.rstrip("\r\n")))
        feed.push_back(rest)
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
    if header is None:
        raise DataError(f"{source} has no header row; the first row must name the columns.")


def _check_columns(source: str, available: list[str], wanted: list[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        close = difflib.get_close_matches(missing[0], available, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"column {missing[0]!r} not found in {source}; its columns are "
            f"{', '.join(map(repr, available))}.{suggestion} Set the right name in the config "
            "or option (text_column, label_column, date_column, user_column or "
            "location_column)."
        )


def _iter_records(
    spec: SourceSpec, path: Path, ledger: RowLedger, limits: LimitSettings, wanted: list[str]
):
    """Yield ``(line, record)`` pairs from one file, rejecting broken records."""
    source = str(spec.path)
    file_format = detect_format(path) if spec.format == "auto" else spec.format
    if file_format == "semeval":
        columns = spec.columns or ["id", "label", "text"]
    else:
        columns = spec.columns or []
    if file_format in ("semeval", "fields"):
        _check_columns(source, columns, wanted)
    # Only \n ends a line, \r\n included; a bare \r is part of the text in every format.
    with _open_text(path, spec, limits) as stream:
        lines = _Lines(stream, source, limits, spec.encoding)
        if file_format in ("csv", "tsv"):
            delimiter = "," if file_format == "csv" else "\t"
            yield from _records_csv(lines, source, ledger, wanted, delimiter)
            return
        readers = {"semeval": _records_semeval, "fields": _records_fields, "jsonl": _records_jsonl}
        for number, record in readers[file_format](lines, source, ledger, columns):
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


class _JsonlColumnCheck:
    """Raise :class:`ConfigError` when the first objects of a JSON Lines file all lack the
    text field, since one broken line must not stop the file but a wrong name must."""

    def __init__(self, source: str, text_column: str):
        self.source = source
        self.text_column = text_column
        self.found = False
        self.checked = 0
        self.keys: Counter[str] = Counter()

    def see(self, record: dict[str, Any]) -> None:
        if self.found:
            return
        if self.text_column in record:
            self.found = True
            return
        self.checked += 1
        self.keys.update(record.keys())
        if self.checked >= JSONL_COLUMN_CHECK_ROWS:
            self.fail()

    def fail(self) -> None:
        available = [key for key, _ in self.keys.most_common(20)]
        _check_columns(self.source, available, [self.text_column])


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
    path = Path(spec.path)
    path = path if path.is_absolute() else root / path
    source = str(spec.path)
    label_column = spec.label_column or ("label" if labelled else None)
    label_map = {**DEFAULT_LABEL_MAP, **{k.lower(): v for k, v in spec.label_map.items()}}
    extra_columns = [
        name for name in (spec.date_column, spec.user_column, spec.location_column) if name
    ]
    wanted = [spec.text_column, *extra_columns] + ([label_column] if labelled else [])
    jsonl_check = _JsonlColumnCheck(source, spec.text_column)
    n_mojibake = 0
    for number, record in _iter_records(spec, path, ledger, limits, wanted):
        jsonl_check.see(record)
        text = record.get(spec.text_column)
        raw_label = record.get(label_column) if labelled else None
        values = [text or "", raw_label or "", *(record.get(name) or "" for name in extra_columns)]
        if any(not value.isascii() and _SURROGATE_RE.search(value) for value in values):
            ledger.reject(source, number, REASON_BAD_BYTES, text or "")
            continue
        # NUL bytes are not text; a run of them is what a crash leaves in a file.
        if any("\x00" in value for value in values):
            ledger.reject(source, number, REASON_NUL, (text or "").replace("\x00", "\\0"))
            continue
        if text is None and spec.text_column not in record:
            shown = json.dumps(record, ensure_ascii=False)
            ledger.reject(source, number, f"{REASON_MISSING_TEXT} {spec.text_column!r}", shown)
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
                shown = raw_label.strip()[:40]
                ledger.reject(source, number, f"{REASON_UNKNOWN_LABEL} {shown!r}", text)
                continue
        if not text.isascii() and _MOJIBAKE_RE.search(text):
            n_mojibake += 1
        extras = {name: record.get(name) or "" for name in extra_columns}
        yield number, text, label, extras
    if jsonl_check.checked and not jsonl_check.found:
        jsonl_check.fail()
    if n_mojibake:
        logger.warning(
            "%s: %d rows contain mojibake such as 'Ã©' for 'é' (UTF-8 text decoded as "
            "latin-1 or cp1252 and saved again); they are used as they are. Re-export the "
            "data as UTF-8, or check the file's `encoding`.",
            source,
            n_mojibake,
        )


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
