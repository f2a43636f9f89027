"""Input files as numbered physical lines, for the readers of :mod:`seatcast.io`.

A file is opened with the size limit, and a ``.gz`` file is decompressed on the fly up to the
same limit. Its text is decoded incrementally and cut into lines that end at ``\\n`` only, so
a bare ``\\r`` stays part of its line in every format. :class:`_Lines` hands the lines out
one at a time with every check (:meth:`_Lines.next_line`), or as a run of lines that need none
of the checks (:meth:`_Lines.clean_run`), which the CSV reader parses in one go.

The rejection reasons and the column check that every reader shares live here as well.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from seatcast.config import LimitSettings, SourceSpec
from seatcast.errors import ConfigError, DataError

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

# Any UTF-16 surrogate: undecodable bytes (kept as U+DC80-U+DCFF by surrogateescape) and
# lone surrogates from JSON escapes. Neither can be written as UTF-8.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

# UTF-8 text that was decoded as latin-1 or cp1252 and saved again: "é" becomes "Ã©" and
# "’" becomes "â€™".
_MOJIBAKE_RE = re.compile(
    r"""
    [\u00c2\u00c3][\u0080-\u00bf]        # a two-byte UTF-8 sequence such as Ã© or Â
    | \u00e2\u20ac[\u0080-\u00bf\u2018-\u203a\u2122\u0153\u009d]   # â€™, â€œ, â€\x9d ...
    """,
    re.VERBOSE,
)
# The characters that every match of _MOJIBAKE_RE starts with.
_MOJIBAKE_LEADS = ("\u00c2", "\u00c3", "\u00e2")

# Bytes read and decoded at a time: what io.TextIOWrapper.readline reads per call in
# CPython 3.11. A damaged or truncated file then yields the same lines before its error, and
# a decoding error the same byte position, as when it is read with readline.
_READ_BYTES = 8192
# Bytes read per refill of the line buffer; with limits.max_line_bytes this bounds the memory
# that a file's lines take.
_FILL_BYTES = 256 * 1024


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


def _may_hold_mojibake(text: str) -> bool:
    """Return whether ``text`` contains a character that a mojibake match starts with."""
    return not text.isascii() and any(lead in text for lead in _MOJIBAKE_LEADS)


# ---------------------------------------------------------------------------------------------
# Opening files


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


def _open_binary(path: Path, limits: LimitSettings) -> io.BufferedReader:
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
def _open_lines(
    path: Path, spec: SourceSpec, limits: LimitSettings, *, clean_runs: bool = False
) -> Iterator[_Lines]:
    """Open ``path`` and yield its :class:`_Lines`; the file is closed afterwards.

    Pass ``clean_runs=True`` to read runs of lines with :meth:`_Lines.clean_run`.
    """
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
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    try:
        yield _Lines(raw, decoder, str(spec.path), limits, spec.encoding, clean_runs)
    finally:
        with contextlib.suppress(OSError, EOFError, zlib.error):
            raw.close()


# ---------------------------------------------------------------------------------------------
# Physical lines


class _LineTooLongError(Exception):
    """A physical line over the limit; the rest of it has been skipped."""

    def __init__(self, number: int, start: str):
        super().__init__(number)
        self.number = number
        self.start = start


def _has_bare_cr(line: str) -> bool:
    """Return whether ``line`` contains a \\r other than the one of a closing \\r\\n."""
    cr = line.find("\r")
    return cr != -1 and not (cr == len(line) - 2 and line.endswith("\r\n"))


def _encodes_as_utf8(text: str) -> bool:
    # Encoding fails on any surrogate. On 8 KiB blocks of tweets it took a quarter of the time
    # of a search with _SURROGATE_RE (CPython 3.11).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Lines:
    """The physical lines of a binary stream, numbered from 1, with a length limit.

    A line is at most ``limits.max_line_bytes`` bytes long in the file's encoding, line
    break excluded. Of a longer line only the first ``max_line_bytes + 2`` characters are kept
    and :meth:`next_line` raises :class:`_LineTooLongError` for it, so memory stays bounded.

    With ``clean_runs`` each line is classified as it is decoded, for :meth:`clean_run`;
    without it :meth:`clean_run` must not be called.

    Lines are decoded a few hundred kilobytes ahead. An error while reading or decoding is
    held back until every line before it has been handed out, and then raised as
    :class:`DataError` naming the last complete line, as if the file were read line by line.
    """

    def __init__(
        self,
        stream: io.BufferedIOBase,
        decoder: codecs.IncrementalDecoder,
        source: str,
        limits: LimitSettings,
        encoding: str,
        clean_runs: bool,
    ):
        self.stream = stream
        self.clean_runs = clean_runs
        self.decoder = decoder
        self.source = source
        self.limit = limits.max_line_bytes
        # The configured encoding, for messages and byte lengths.
        self.encoding = encoding
        # Lines handed out so far, which is the number of the last one.
        self.number = 0
        # Whether the lines buffered now may contain mojibake (see _may_hold_mojibake).
        self.maybe_mojibake = False
        self._lines: list[str] = []
        self._position = 0
        # Ascending indices in _lines of the lines that clean_run must not hand out.
        self._unusual: list[int] = []
        self._next_unusual = 0
        # The decoded start of a line whose \n has not been read yet.
        self._partial = ""
        # Whether _partial is an over-long line whose rest is being read and dropped.
        self._skipping = False
        self._error: Exception | None = None
        self._at_end = False

    # -- Handing out lines ----------------------------------------------------------------

    def next_line(self) -> str | None:
        """Return the next line with its line break, or ``None`` at the end of the file."""
        if self._position == len(self._lines):
            self._refill()
            if not self._lines:
                return None
        line = self._lines[self._position]
        self._position += 1
        self.number += 1
        ended = line.endswith("\n")
        content = line.rstrip("\r\n") if ended else line
        # Lines are cut at limit + 2 characters, so a shorter line without a break is the
        # last of the file. No supported encoding takes more than 4 bytes per character, so
        # short lines skip the encode.
        complete = ended or len(line) < self.limit + 2
        if complete and (
            len(content) * 4 <= self.limit or self._byte_length(content) <= self.limit
        ):
            return line
        raise _LineTooLongError(self.number, content[:SNIPPET_CHARS])

    def clean_run(self, max_lines: int) -> list[str]:
        """Return up to ``max_lines`` buffered lines ahead, up to the first that needs a
        per-line check.

        Each line of the run ends with ``\\n``, has at most a quarter of
        ``limits.max_line_bytes`` characters (so it is within the limit in any encoding), and
        contains no bare ``\\r``, NUL character or surrogate. The run is empty when the next
        line needs a check, or when the file is at its end or at a read error, and
        :meth:`next_line` then deals with it. The caller passes the number of lines it used to
        :meth:`consume`.
        """
        if self._position == len(self._lines):
            if self._error is not None or self._at_end:
                return []
            self._fill()
        unusual = self._unusual
        while self._next_unusual < len(unusual) and unusual[self._next_unusual] < self._position:
            self._next_unusual += 1
        end = unusual[self._next_unusual] if self._next_unusual < len(unusual) else len(self._lines)
        return self._lines[self._position : min(end, self._position + max_lines)]

    def consume(self, count: int) -> None:
        """Mark the first ``count`` lines of the last :meth:`clean_run` as handed out."""
        self._position += count
        self.number += count

    def _byte_length(self, text: str) -> int:
        try:
            return len(text.encode(self.encoding, "surrogateescape"))
        except (UnicodeError, LookupError):
            return len(text.encode("utf-8", "surrogatepass"))

    # -- Reading and decoding -----------------------------------------------------------

    def _refill(self) -> None:
        if self._error is None and not self._at_end:
            self._fill()
        else:
            self._lines = []
            self._position = 0
        if not self._lines and self._error is not None:
            self._raise_error()

    def _raise_error(self) -> None:
        error = self._error
        # An over-long line counts as read once its start is, even if its rest cannot be read.
        number = self.number + (1 if self._skipping else 0)
        if isinstance(error, DataError):
            raise error
        if isinstance(error, UnicodeError):
            # Bad bytes are kept by surrogateescape; this is a stream-level failure, such as
            # UTF-16 that ends in the middle of a character.
            raise DataError(
                f"cannot decode {self.source} after line {number} as {self.encoding}: "
                f"{error}. Set `encoding` to the encoding the file was saved in."
            ) from None
        raise DataError(
            f"cannot read {self.source} after line {number}: {error}. The file may be "
            "truncated or corrupt; restore it, or cut it at the last complete line."
        ) from None

    def _fill(self) -> None:
        """Replace the buffered lines with the next ones of the file."""
        self._lines = []
        self._unusual = []
        self._position = 0
        self._next_unusual = 0
        self.maybe_mojibake = self.clean_runs and _may_hold_mojibake(self._partial)
        n_read = 0
        while (
            not self._at_end and self._error is None and (n_read < _FILL_BYTES or not self._lines)
        ):
            try:
                data = self.stream.read1(_READ_BYTES)
                text = self.decoder.decode(data, final=not data)
            except (OSError, EOFError, zlib.error, UnicodeError, DataError) as error:
                # Raised once the lines before it are used up (see _refill).
                self._error = error
                break
            n_read += len(data)
            self._at_end = not data
            if text:
                self._add_text(text)
        if self._at_end and (self._partial or self._skipping):
            # The last line of the file has no \n.
            self._add_line(self._partial)
            self._partial = ""
            self._skipping = False

    def _add_line(self, line: str) -> None:
        if self.clean_runs and self._is_unusual(line):
            self._unusual.append(len(self._lines))
        self._lines.append(line)

    def _is_unusual(self, line: str) -> bool:
        """Return whether ``line`` must be read with :meth:`next_line`, not in a clean run."""
        return (
            not line.endswith("\n")
            or len(line) * 4 > self.limit
            or "\x00" in line
            or _has_bare_cr(line)
            or (not line.isascii() and not _encodes_as_utf8(line))
        )

    def _add_text(self, text: str) -> None:
        """Append the lines that ``text`` completes; keep its unfinished last line."""
        if self._skipping:
            end = text.find("\n")
            if end == -1:
                return
            self._skipping = False
            self._add_line(self._partial)
            self._partial = ""
            text = text[end + 1 :]
            if not text:
                return
        if self.clean_runs and not self.maybe_mojibake:
            self.maybe_mojibake = _may_hold_mojibake(text)
        pieces = text.splitlines(keepends=True)
        tail = "" if pieces[-1].endswith("\n") else pieces.pop()
        # splitlines also ends lines at \r, \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029;
        # when it found any of those, split again at \n alone and check every line.
        check_each = len(pieces) != text.count("\n")
        if check_each:
            parts = text.split("\n")
            tail = parts.pop()
            pieces = [part + "\n" for part in parts]
        if pieces:
            limit = self.limit
            # No line is longer than this; only text near the limit needs the exact maximum.
            longest = len(self._partial) + len(text)
            first = self._partial + pieces[0]
            self._partial = tail
            if longest * 4 > limit:
                longest = max(len(first), max(map(len, pieces)))
            if longest > limit + 2:
                pieces = [piece[: limit + 2] for piece in pieces]
                first = first[: limit + 2]
            self._add_line(first)
            if self.clean_runs and (
                check_each
                or longest * 4 > limit
                or "\x00" in text
                or (not text.isascii() and not _encodes_as_utf8(text))
            ):
                for piece in pieces[1:]:
                    self._add_line(piece)
            else:
                self._lines.extend(pieces[1:])
        else:
            self._partial += tail
        if len(self._partial) >= self.limit + 2:
            # Like readline(limit + 2): keep the start of the line and drop the rest.
            self._partial = self._partial[: self.limit + 2]
            self._skipping = True
