"""CSV and TSV records for :mod:`seatcast.io`.

A stray quote in a CSV file would otherwise swallow every following line into one field. When
a record that spans several lines turns out broken (wrong number of fields, or longer than
``limits.max_line_bytes``), only its first line is rejected and parsing starts again on the
next line, so that the rows after a stray quote are read rather than lost.

Records are parsed in two ways with the same results:

* the careful path feeds :func:`csv.reader` one line at a time through :class:`_CsvLines`,
  which keeps the lines of the record being parsed. It reads the header, every record that
  touches a line with something unusual (see :meth:`~seatcast.io_text._Lines.clean_run`) and
  every record that the fast path stops at;
* the fast path parses a run of clean lines with one :func:`csv.reader` and takes its records
  up to the first one that the careful path would reject or treat specially: a record with
  the wrong number of fields, a :class:`csv.Error` (such as a record cut off at the end of the
  run), or a record of several lines longer than the line limit.
"""

from __future__ import annotations

import contextlib
import csv
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seatcast.errors import DataError
from seatcast.io_text import (
    _SURROGATE_RE,
    REASON_BAD_CSV,
    REASON_FIELD_COUNT,
    REASON_LINE_TOO_LONG,
    REASON_UNBALANCED_QUOTE,
    _check_columns,
    _Lines,
    _LineTooLongError,
)

if TYPE_CHECKING:
    from seatcast.io import RowLedger

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


class _RecordTooLongError(Exception):
    """A CSV record spanning several lines grew past the line limit."""


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


def _is_blank(row: list[str]) -> bool:
    """Return whether a parsed record is empty or all blank, which makes it no row."""
    return not any(map(str.strip, row))


@dataclass
class _CsvBatch:
    """Consecutive records of one file: the line each starts on, and its fields.

    Every record in ``rows`` has as many fields as the header, or is blank (see
    :func:`_is_blank`). ``full`` is true when no record is blank with another number of
    fields. ``clean`` batches come from the fast path, so their lines contain no NUL character
    or surrogate. ``maybe_mojibake`` is false when no field can match the mojibake pattern.
    """

    lines: list[int]
    rows: list[list[str]]
    full: bool
    clean: bool
    maybe_mojibake: bool


# The return value of _CsvRecords._parse_record at the end of the file.
_END = object()


class _CsvRecords:
    """The records of one CSV or TSV file, read as :class:`_CsvBatch` objects.

    Rows that break the CSV structure are rejected into ``ledger`` here. The caller counts
    the rows of each batch in ``ledger.rows_read`` and checks their values. ``header`` is set
    before :meth:`read_batch` returns the first batch.
    """

    def __init__(
        self,
        lines: _Lines,
        source: str,
        ledger: RowLedger,
        wanted: list[str],
        delimiter: str,
    ):
        self.lines = lines
        self.source = source
        self.ledger = ledger
        self.wanted = wanted
        self.delimiter = delimiter
        self.header: list[str] | None = None
        self._feed = _CsvLines(lines)
        self._reader = self._new_reader()
        # Whether the fast path stopped at the next record, which the careful path must read.
        self._careful = False
        # Our own limit on lines and records comes first; the csv module's must not be lower.
        csv.field_size_limit(max(lines.limit + 2, csv.field_size_limit()))

    def _new_reader(self):
        return csv.reader(self._feed, delimiter=self.delimiter, strict=True)

    def read_batch(self, max_rows: int) -> _CsvBatch | None:
        """Return up to ``max_rows`` next records, or ``None`` at the end of the file.

        Records are read no further than the last one returned, so that the ledger contains
        exactly the rejections up to there.
        """
        while True:
            # The fast path starts only between records, once no line waits to be read again.
            if self.header is not None and not self._feed.pushed_back and not self._careful:
                batch = self._parse_run(max_rows)
                if batch is not None:
                    return batch
            self._careful = False
            record = self._parse_record()
            if record is _END:
                if self.header is None:
                    raise DataError(
                        f"{self.source} has no header row; the first row must name the columns."
                    )
                return None
            if record is not None:
                number, row = record
                return _CsvBatch([number], [row], full=True, clean=False, maybe_mojibake=True)

    def _parse_run(self, max_rows: int) -> _CsvBatch | None:
        """Parse the clean lines ahead in one go (the fast path).

        Return the records that the careful path would take as they are, up to
        ``max_rows``, or ``None`` when the first record needs the careful path.
        """
        # Room for records of two lines on average; a record cut off at the end of the run is
        # parsed again by the careful path.
        run = self.lines.clean_run(2 * max_rows + 64)
        if not run:
            return None
        n_fields = len(self.header)
        reader = csv.reader(run, delimiter=self.delimiter, strict=True)
        rows: list[list[str]] = []
        ends: list[int] = []
        full = True
        # A csv.Error stops the run before the record that raised it, and the careful path
        # reads that record next. At the end of the run it is a record cut off by the run.
        with contextlib.suppress(csv.Error):
            for row in reader:
                if len(row) != n_fields:
                    if not _is_blank(row):
                        break
                    full = False
                rows.append(row)
                ends.append(reader.line_num)
                if len(rows) == max_rows:
                    break
        if ends and ends[-1] > len(ends) and sum(map(len, run)) > self.lines.limit:
            del rows[self._count_within_limit(run, ends) :]
            del ends[len(rows) :]
        used = ends[-1] if ends else 0
        # Parsing stopped at a record that the careful path must read next.
        self._careful = len(rows) < max_rows and used < len(run)
        if not rows:
            return None
        first = self.lines.number + 1
        if used == len(rows):
            starts = list(range(first, first + used))
        else:
            starts = [first, *(first + end for end in ends[:-1])]
        self.lines.consume(used)
        return _CsvBatch(
            starts, rows, full=full, clean=True, maybe_mojibake=self.lines.maybe_mojibake
        )

    def _count_within_limit(self, run: list[str], ends: list[int]) -> int:
        """Return how many of the records take no more than the line limit.

        The careful path rejects a record of several lines whose lines are together longer
        than ``limits.max_line_bytes`` characters as an unbalanced quote.
        """
        start = 0
        for index, end in enumerate(ends):
            if end - start > 1 and sum(map(len, run[start:end])) > self.lines.limit:
                return index
            start = end
        return len(ends)

    def _parse_record(self) -> tuple[int, list[str]] | object | None:
        """Parse one record line by line (the careful path).

        Return ``(line, fields)`` for a row, ``None`` for a blank record, the header or a
        rejected record, or ``_END`` at the end of the file.
        """
        feed = self._feed
        feed.start_record()
        problem = None
        try:
            row = next(self._reader)
        except StopIteration:
            return _END
        except _LineTooLongError as error:
            if self.header is None:
                raise DataError(
                    f"{self.source}: the header row is longer than limits.max_line_bytes = "
                    f"{self.lines.limit:,}; the file is probably not {self.delimiter!r}-separated "
                    "text."
                ) from None
            self.ledger.rows_read += 1
            self.ledger.reject(self.source, error.number, REASON_LINE_TOO_LONG, error.start)
            # The lines before it were inside a quoted field that the long line cut off.
            problem = REASON_UNBALANCED_QUOTE if feed.record else None
        except _RecordTooLongError:
            problem = REASON_UNBALANCED_QUOTE
        except csv.Error as error:
            problem = f"{REASON_BAD_CSV} ({error})"
        else:
            if feed.hid_cr:
                row = [_show_bare_cr(value) for value in row]
            if _is_blank(row):
                return None
            if self.header is None:
                self._set_header(row)
                return None
            if len(row) == len(self.header):
                return feed.record[0][0], row
            if len(feed.record) > 1:
                problem = REASON_UNBALANCED_QUOTE
            else:
                problem = f"{REASON_FIELD_COUNT} (expected {len(self.header)}, got {len(row)})"
        if problem is None:
            self._reader = self._new_reader()
            return None
        if self.header is None:
            raise DataError(f"{self.source}: the header row is not valid CSV ({problem}).")
        if len(feed.record) > 1:
            # Most likely a stray quote on the record's first line: reject that line and
            # parse the lines it swallowed again.
            problem = REASON_UNBALANCED_QUOTE
        (number, first), rest = feed.record[0], feed.record[1:]
        self.ledger.rows_read += 1
        self.ledger.reject(self.source, number, problem, _show_bare_cr(first.rstrip("\r\n")))
        feed.push_back(rest)
        self._reader = self._new_reader()
        return None

    def _set_header(self, row: list[str]) -> None:
        if "\r" in "".join(row):
            raise DataError(
                f"{self.source}: the header row holds a bare carriage return (\\r); the file "
                "probably uses \\r line ends (classic Mac OS). Convert them to \\n."
            )
        self.header = [name.strip().lstrip("\ufeff") for name in row]
        _check_header(self.source, self.header, self.wanted, self.lines.encoding)
