"""Streaming a tweet file through the cleaning pool into JSON Lines.

:func:`preprocess_file` is what ``seatcast preprocess`` runs. It reads the input in chunks,
cleans each chunk on the worker pool while later chunks are read, and writes one JSON object
per usable row as results arrive, in input order::

    {"line": 2, "tokens": ["@user", "great", "rally", "!"]}

Workers return each chunk's output already encoded as UTF-8 JSON Lines, so the parent process
only reads input and writes bytes. The output is byte-identical for any number of jobs and
either backend. It is written under a temporary name and renamed when complete. Memory stays
bounded by ``jobs``, ``chunk_size`` and the pending-chunk limit, not by the size of the input.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path

from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.io import RowLedger, read_chunks
from seatcast.parallel import ordered_map
from seatcast.preprocess import (
    UNIT_CACHE_LIMIT,
    CleanOptions,
    clean_chunk,
    clean_chunk_lines,
    clean_units,
    join_for_units,
)
from seatcast.report import atomic_path
from seatcast.units import UnitCache, cache_for

__all__ = ["SharedUnits", "clean_to_jsonl", "preprocess_file"]

logger = logging.getLogger(__name__)

# zlib's default compression level.
GZIP_LEVEL = 6

# One encoder for every row: json.dumps would build a new one per call.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def clean_to_jsonl(
    batch: tuple[Sequence[int], Sequence[str]], options: CleanOptions, compress: bool = False
) -> tuple[int, bytes]:
    """Clean a chunk of tweets and encode it as JSON Lines; a top-level worker function.

    Parameters
    ----------
    batch : tuple of (sequence of int, sequence of str)
        The line number where each tweet starts, and the tweets, in order.
    options : CleanOptions
        Passed to :func:`seatcast.preprocess.clean_chunk`.
    compress : bool, default=False
        Return the lines as one complete gzip member. Concatenated members form a valid
        gzip file, so compression runs in the workers rather than in the process writing.

    Returns
    -------
    n_rows : int
        The number of lines encoded.
    payload : bytes
        One line ``{"line": N, "tokens": [...]}`` per tweet, in order, UTF-8 encoded (and
        gzip-compressed when ``compress``). A lone surrogate in a token is written as a
        ``\\udXXX`` JSON escape, so the output is always valid UTF-8.
    """
    lines, texts = batch
    if len(lines) != len(texts):
        raise ValueError(
            f"a batch needs one line number per tweet; got {len(lines)} line numbers for "
            f"{len(texts)} tweets"
        )
    joined = join_for_units(texts, options)
    if joined is not None:
        payload = _units_to_jsonl(joined, lines, options)
    else:
        payload = _chunk_to_jsonl(texts, lines, options)
    if compress:
        # mtime=0 keeps the bytes the same from run to run and for any number of jobs.
        payload = gzip.compress(payload, compresslevel=GZIP_LEVEL, mtime=0)
    return len(lines), payload


def _chunk_to_jsonl(texts: Sequence[str], lines: Sequence[int], options: CleanOptions) -> bytes:
    """Encode a chunk that cannot be cleaned unit by unit as UTF-8 JSON Lines."""
    cleaned = clean_chunk_lines(texts, options)
    if cleaned is not None:
        text = _token_lines_to_jsonl(cleaned, lines)
    else:
        documents = clean_chunk(texts, options)
        # Built by hand, but the same text as json.dumps({"line": ..., "tokens": ...}).
        text = "".join(
            [
                f'{{"line": {line}, "tokens": {_encode_json(tokens)}}}\n'
                for line, tokens in zip(lines, documents, strict=True)
            ]
        )
    # A lone surrogate becomes "\udXXX", which inside a JSON string is a valid escape.
    return text.encode("utf-8", "backslashreplace")


# The JSON Lines of a chunk from the units of seatcast.preprocess.join_for_units: each unit's
# tokens as JSON strings, each followed by ", ", and a whole line between two tweets. Every
# line number is a "%d" to fill in, so a "%" in a token is written "%%".
# The forms are UTF-8 bytes, so no step works on a wide string because one tweet has an emoji.
_UNITS_HEAD = b'{"line": %d, "tokens": ['
_UNITS_BETWEEN = b"]}\n" + _UNITS_HEAD


def _units_to_jsonl(joined: str, lines: Sequence[int], options: CleanOptions) -> bytes:
    """Encode the tweets of ``joined`` as UTF-8 JSON Lines, unit by unit from a cache of each
    unit's encoded tokens."""
    text = b"".join([_UNITS_HEAD, _json_cache(options).join(joined), b"]}\n"])
    # The last token of a tweet is followed by ", " too. Nothing else writes '", ]}': a
    # token with a space in it is a phone number or an ellipsis, which hold no quote.
    return text.replace(b'", ]}', b'"]}') % tuple(lines)


def _json_cache(options: CleanOptions) -> UnitCache:
    """Return this thread's cache of encoded units for ``options``."""
    return cache_for(
        ("json", options),
        lambda: UnitCache(
            lambda units: _encode_units(clean_units(units, options)),
            UNIT_CACHE_LIMIT,
            {"\0": _UNITS_BETWEEN},
            joiner=b"",
        ),
    )


@dataclass(frozen=True)
class SharedUnits:
    """An exchange (:class:`~seatcast.pool.Exchange`) that passes the units one process of
    a pool cleaned for :func:`clean_to_jsonl` to the other processes.

    Each process keeps a cache of units it has cleaned. Without this, every process of a
    2-job run cleans nearly every distinct unit of the input once, so the second process
    repeats most of the first one's work on new units.
    """

    options: CleanOptions

    def open(self) -> None:
        _json_cache(self.options).record(True)

    def take(self) -> list[tuple[str, bytes]] | None:
        return _json_cache(self.options).take_learned() or None

    def give(self, lessons: list[tuple[str, bytes]]) -> None:
        _json_cache(self.options).learn(lessons)

    def close(self) -> None:
        _json_cache(self.options).record(False)


def _encode_units(cleaned: str) -> list[bytes]:
    """Encode the string of :func:`~seatcast.preprocess.clean_units` as one UTF-8 form per
    unit: its tokens as JSON strings, each followed by ", "."""
    # A raw NUL cannot survive escaping, so it marks where one unit's form ends.
    text = '"' + _escape_token_lines(cleaned, '", \0"') + '", '
    forms = text.encode("utf-8", "backslashreplace").split(b"\0")
    # A unit without tokens comes out as "", which no token list can hold otherwise.
    return [b"" if form == b'"", ' else form for form in forms]


# The pieces of a chunk's JSON Lines text: the head of every line, and the text between two
# lines (the end of one line and the head of the next, with its line number to fill in).
_LINE_HEAD = '{"line": %d, "tokens": ["'
_BETWEEN_LINES = '"]}\n' + _LINE_HEAD

# The escaped forms of the NUL line between two tweets, longest first.
_BOUNDARIES = ("\\n\\u0000\\n", "\\u0000\\n", "\\n\\u0000", "\\u0000")


def _token_lines_to_jsonl(cleaned: str, lines: Sequence[int]) -> str:
    """Encode the string of :func:`~seatcast.preprocess.clean_chunk_lines` as JSON Lines.

    The same text as one ``json.dumps({"line": ..., "tokens": ...})`` per tweet, built with
    a few C-level passes over the whole chunk instead of Python code per tweet or token.
    """
    text = (_LINE_HEAD + _escape_token_lines(cleaned, _BETWEEN_LINES) + '"]}\n') % tuple(lines)
    # A tweet without tokens comes out as [""]. No token list can contain that text, because
    # a quote inside a token is escaped.
    return text.replace('"tokens": [""]}', '"tokens": []}')


def _escape_token_lines(cleaned: str, between: str) -> str:
    """Escape token lines as the inside of JSON strings: ``a", "b`` for the lines a and b,
    with ``between`` in place of each NUL line and every "%" written "%%".

    The text is escaped as one JSON string, where a line break between two tokens becomes
    the two characters ``\\n`` and a NUL becomes ``\\u0000``. An escaped backslash
    (``\\\\``) is set aside first, so that a token holding a backslash followed by "n" is
    never read as a line break.
    """
    escaped = encode_basestring(cleaned)[1:-1].replace("%", "%%")
    # No raw control character survives escaping, so \x01 cannot clash with the text.
    has_backslash = "\\\\" in escaped
    if has_backslash:
        escaped = escaped.replace("\\\\", "\x01")
    # A NUL line has a line break on each side. The shorter forms come from tweets or units
    # left without tokens, because those have no lines of their own.
    for boundary in _BOUNDARIES:
        if boundary in escaped:
            escaped = escaped.replace(boundary, between)
    escaped = escaped.replace("\\n", '", "')
    if has_backslash:
        escaped = escaped.replace("\x01", "\\\\")
    return escaped


def preprocess_file(
    spec: SourceSpec,
    output: Path,
    *,
    root: Path,
    options: CleanOptions,
    run: RunSettings,
    limits: LimitSettings,
    progress: Callable[[int], None] | None = None,
    ledger: RowLedger | None = None,
) -> RowLedger:
    """Clean and tokenize every usable row of ``spec`` into ``output`` (JSON Lines).

    Parameters
    ----------
    spec : SourceSpec
        The input file and how to read it.
    output : Path
        The JSON Lines file to write; gzip-compressed when its name ends in ``.gz``.
    root : Path
        The folder that a relative ``spec.path`` is resolved against.
    options : CleanOptions
        How to clean each tweet.
    run : RunSettings
        Jobs, chunk size, backend and Dask scheduler.
    limits : LimitSettings
        Input limits and the share of unusable rows tolerated.
    progress : callable, default=None
        Called with the number of rows written after each chunk.
    ledger : RowLedger, default=None
        Receives the row accounting; pass one to keep it when the run fails.

    Returns
    -------
    RowLedger
        The row accounting; rejected rows are in ``ledger.rejected_rows``.

    Raises
    ------
    DataError, ConfigError
        If the input cannot be read or a column is missing.
    PipelineError
        If a worker fails or dies; no output file is left behind.
    DataError
        Also when more than ``limits.max_rejected_share`` of the rows are unusable; no output
        file is left behind then either.
    """
    ledger = ledger if ledger is not None else RowLedger()

    def items() -> Iterator[tuple[str, tuple[list[int], list[str]]]]:
        for chunk in read_chunks(
            spec,
            root=root,
            ledger=ledger,
            labelled=False,
            chunk_size=run.chunk_size,
            limits=limits,
        ):
            yield f"{chunk.source} line {chunk.first_line}", (chunk.lines, chunk.texts)

    results = ordered_map(
        clean_to_jsonl,
        items(),
        extra=(options, Path(output).suffix.lower() == ".gz"),
        jobs=run.jobs,
        backend=run.backend,
        scheduler=run.scheduler,
        exchange=SharedUnits(options),
    )
    # closing() stops the workers at once when writing fails, instead of at garbage collection.
    with (
        contextlib.closing(results),
        atomic_path(output) as temporary,
        open(temporary, "wb") as out,
    ):
        for written, payload in results:
            out.write(payload)
            ledger.use(written)
            if progress is not None:
                progress(written)
        ledger.check_balanced()
        ledger.check_rejected_share(limits.max_rejected_share, str(spec.path))
    logger.info("Wrote %d rows to %s", ledger.rows_used, output)
    return ledger
