"""Assembling labelled data: reading, excluding, de-duplicating and tokenizing.

:func:`load_training_set` builds the training set that a :class:`~seatcast.config.TrainConfig`
describes, in this order:

1. read every training file, rejecting unusable rows (see :mod:`seatcast.io`);
2. leave out every tweet that also appears in a development file (``data.exclude``), matched
   by :func:`seatcast.preprocess.normalize_for_match`, so that development scores are not
   inflated by tweets seen in training;
3. leave out repeated tweets, keeping the first (``data.deduplicate``);
4. leave out neutral tweets in ``binary`` mode;
5. tokenize the rest in parallel, removing the label-defining emoticons first when
   ``preprocess.strip_label_emoticons`` is set.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seatcast.config import LimitSettings, PreprocessSettings, RunSettings, SourceSpec, TrainConfig
from seatcast.io import Chunk, RowLedger, read_chunks, read_rows
from seatcast.parallel import ordered_map
from seatcast.preprocess import LABEL_EMOTICONS, CleanOptions, clean_chunk, normalize_for_match

__all__ = [
    "LabelledSet",
    "clean_options",
    "file_sha256",
    "load_labelled_file",
    "load_training_set",
    "tokenize_texts",
]

logger = logging.getLogger(__name__)

EXCLUDED_DEVELOPMENT = "tweet is in a development set"
EXCLUDED_DUPLICATE = "duplicate tweet"
EXCLUDED_NEUTRAL = "neutral label in binary mode"
EXCLUDED_OTHER_LABEL = "label not in the model's label set"


@dataclass
class LabelledSet:
    """Tokenized, labelled tweets with where each came from."""

    texts: list[str] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    ledger: RowLedger = field(default_factory=RowLedger)

    def __len__(self) -> int:
        return len(self.labels)


def clean_options(settings: PreprocessSettings) -> CleanOptions:
    """Build the cleaning options for a config's ``preprocess`` section."""
    return CleanOptions(
        lowercase=settings.lowercase,
        reduce_len=settings.reduce_len,
        urls=settings.urls,
        mentions=settings.mentions,
        hashtags=settings.hashtags,
        mark_elongation=settings.mark_elongation,
        mark_allcaps=settings.mark_allcaps,
        strip_emoticons=LABEL_EMOTICONS if settings.strip_label_emoticons else frozenset(),
    )


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunk_items(chunks: Iterable[Chunk]) -> Iterator[tuple[str, list[str]]]:
    for chunk in chunks:
        yield f"{chunk.source} line {chunk.first_line}", chunk.texts


def tokenize_texts(
    texts: list[str],
    options: CleanOptions,
    run: RunSettings,
    progress: Callable[[int], None] | None = None,
) -> list[list[str]]:
    """Tokenize texts in chunks on the configured backend, keeping their order."""
    size = run.chunk_size
    items = (
        (f"row {start + 1}", texts[start : start + size]) for start in range(0, len(texts), size)
    )
    tokens: list[list[str]] = []
    for result in ordered_map(
        clean_chunk,
        items,
        extra=(options,),
        jobs=run.jobs,
        backend=run.backend,
        scheduler=run.scheduler,
    ):
        tokens.extend(result)
        if progress is not None:
            progress(len(result))
    return tokens


def _development_keys(sources: list[SourceSpec], root: Path, limits: LimitSettings) -> set[str]:
    keys: set[str] = set()
    for spec in sources:
        ledger = RowLedger()
        for _, text, _, _ in read_rows(
            spec, root=root, ledger=ledger, labelled=False, limits=limits
        ):
            keys.add(normalize_for_match(text))
        logger.info("Development file %s: %d tweets to keep out of training", spec.path, len(keys))
    return keys


def load_training_set(
    config: TrainConfig,
    root: Path,
    progress: Callable[[int], None] | None = None,
    ledger: RowLedger | None = None,
) -> LabelledSet:
    """Read, filter and tokenize the training data of a config.

    Parameters
    ----------
    config : TrainConfig
        The validated training config.
    root : Path
        The folder that relative paths are resolved against.
    progress : callable, default=None
        Called with the number of tweets tokenized after each chunk.
    ledger : RowLedger, default=None
        Receives the row accounting; pass one to keep the rejected rows when loading fails.

    Returns
    -------
    LabelledSet
        The training tweets and the row accounting; ``ledger.check_balanced()`` holds.

    Raises
    ------
    DataError
        If a file cannot be read, too many rows are rejected, or no tweets remain.
    """
    development = _development_keys(config.data.exclude, root, config.limits)
    allowed = set(config.labels)
    result = LabelledSet(ledger=ledger if ledger is not None else RowLedger())
    seen: set[bytes] = set()
    for spec in config.data.train:
        before_rejected = result.ledger.rows_rejected
        for chunk in read_chunks(
            spec,
            root=root,
            ledger=result.ledger,
            labelled=True,
            chunk_size=config.run.chunk_size,
            limits=config.limits,
        ):
            for line, text, label in zip(chunk.lines, chunk.texts, chunk.labels or [], strict=True):
                key = normalize_for_match(text)
                if key in development:
                    result.ledger.exclude(EXCLUDED_DEVELOPMENT)
                    continue
                digest = hashlib.blake2b(
                    key.encode("utf-8", "surrogatepass"), digest_size=12
                ).digest()
                if config.data.deduplicate and digest in seen:
                    result.ledger.exclude(EXCLUDED_DUPLICATE)
                    continue
                seen.add(digest)
                if label not in allowed:
                    reason = EXCLUDED_NEUTRAL if label == "neutral" else EXCLUDED_OTHER_LABEL
                    result.ledger.exclude(reason)
                    continue
                result.texts.append(text)
                result.labels.append(label)
                result.sources.append(chunk.source)
                result.lines.append(line)
        logger.info(
            "Read %s: %d rows rejected", spec.path, result.ledger.rows_rejected - before_rejected
        )
    result.ledger.use(len(result.texts))
    result.ledger.check_balanced()
    result.ledger.check_rejected_share(config.limits.max_rejected_share, "training data")
    if config.preprocess.strip_label_emoticons:
        logger.info(
            "Removing the %d label-defining emoticons (such as :) and :( ) before training, "
            "so that cross-validation cannot read the label off the text",
            len(LABEL_EMOTICONS),
        )
    result.tokens = tokenize_texts(
        result.texts, clean_options(config.preprocess), config.run, progress
    )
    return result


def load_labelled_file(
    spec: SourceSpec,
    root: Path,
    options: CleanOptions,
    run: RunSettings,
    limits: LimitSettings,
    labels: tuple[str, ...],
    progress: Callable[[int], None] | None = None,
    ledger: RowLedger | None = None,
) -> LabelledSet:
    """Read and tokenize one labelled file for evaluation.

    Rows whose label is not in ``labels`` (neutral rows for a binary model) are excluded and
    counted, not rejected. Pass ``ledger`` to keep the rejected rows when loading fails.
    """
    result = LabelledSet(ledger=ledger if ledger is not None else RowLedger())
    for line, text, label, _ in read_rows(
        spec, root=root, ledger=result.ledger, labelled=True, limits=limits
    ):
        if label not in labels:
            reason = EXCLUDED_NEUTRAL if label == "neutral" else EXCLUDED_OTHER_LABEL
            result.ledger.exclude(reason)
            continue
        result.texts.append(text)
        result.labels.append(label)
        result.sources.append(str(spec.path))
        result.lines.append(line)
    result.ledger.use(len(result.texts))
    result.ledger.check_balanced()
    result.ledger.check_rejected_share(limits.max_rejected_share, str(spec.path))
    result.tokens = tokenize_texts(result.texts, options, run, progress)
    return result
