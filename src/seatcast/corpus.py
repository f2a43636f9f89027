"""Streaming a tweet file through the cleaning pool into JSON Lines.

:func:`preprocess_file` is what ``seatcast preprocess`` runs. It reads the input in chunks,
cleans each chunk on the worker pool while later chunks are read, and writes one JSON object
per usable row as results arrive, in input order::

    {"line": 2, "tokens": ["@user", "great", "rally", "!"]}

The output is written under a temporary name and renamed when complete. Memory stays bounded
by ``jobs``, ``chunk_size`` and the pending-chunk limit, not by the size of the input.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.io import RowLedger, read_chunks
from seatcast.parallel import ordered_map
from seatcast.preprocess import CleanOptions, clean_chunk
from seatcast.report import atomic_path

__all__ = ["preprocess_file"]

logger = logging.getLogger(__name__)


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

    Returns the row accounting; rejected rows are in ``ledger.rejected_rows``. Pass
    ``ledger`` to keep the accounting when the run fails.

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
    line_numbers: deque[list[int]] = deque()

    def items() -> Iterator[tuple[str, list[str]]]:
        for chunk in read_chunks(
            spec,
            root=root,
            ledger=ledger,
            labelled=False,
            chunk_size=run.chunk_size,
            limits=limits,
        ):
            line_numbers.append(chunk.lines)
            yield f"{chunk.source} line {chunk.first_line}", chunk.texts

    results = ordered_map(
        clean_chunk,
        items(),
        extra=(options,),
        jobs=run.jobs,
        backend=run.backend,
        scheduler=run.scheduler,
    )
    with atomic_path(output) as temporary, open(temporary, "w", encoding="utf-8") as out:
        for tokens_per_row in results:
            lines = line_numbers.popleft()
            out.writelines(
                json.dumps({"line": line, "tokens": tokens}, ensure_ascii=False) + "\n"
                for line, tokens in zip(lines, tokens_per_row, strict=True)
            )
            ledger.use(len(lines))
            if progress is not None:
                progress(len(lines))
        ledger.check_balanced()
        ledger.check_rejected_share(limits.max_rejected_share, str(spec.path))
    return ledger
