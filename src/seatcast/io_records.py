"""Records of the line-based formats for :mod:`seatcast.io`: JSON Lines, SemEval and
tab-separated fields.

Each reader yields ``(line, record)`` pairs, where ``record`` maps field names to values, and
rejects into the ledger the lines that are not records.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seatcast.config import LimitSettings, SourceSpec
from seatcast.io_text import (
    _SURROGATE_RE,
    REASON_BAD_BYTES,
    REASON_BAD_JSON,
    REASON_BAD_RECORD,
    REASON_FIELD_COUNT,
    REASON_LINE_TOO_LONG,
    REASON_LONE_SURROGATE,
    REASON_NOT_OBJECT,
    _check_columns,
    _Lines,
    _LineTooLongError,
    _open_lines,
)

if TYPE_CHECKING:
    from seatcast.io import RowLedger

# A JSON Lines file whose first this many objects all lack the text field is misconfigured.
JSONL_COLUMN_CHECK_ROWS = 100

_UNICODE_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")
# A SemEval record starts with a numeric id and a tab; any other line without two tabs is
# the continuation of a text that contains a line break.
_SEMEVAL_START_RE = re.compile(r"^\d+\t")


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


def _iter_records(
    spec: SourceSpec,
    path: Path,
    ledger: RowLedger,
    limits: LimitSettings,
    wanted: list[str],
    file_format: str,
):
    """Yield ``(line, record)`` pairs from a JSON Lines, SemEval or fields file."""
    source = str(spec.path)
    if file_format == "semeval":
        columns = spec.columns or ["id", "label", "text"]
    else:
        columns = spec.columns or []
    if file_format in ("semeval", "fields"):
        _check_columns(source, columns, wanted)
    with _open_lines(path, spec, limits) as lines:
        readers = {"semeval": _records_semeval, "fields": _records_fields, "jsonl": _records_jsonl}
        for number, record in readers[file_format](lines, source, ledger, columns):
            if file_format == "semeval":
                record["text"] = _decode_escapes(record["text"])
            yield number, record


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
