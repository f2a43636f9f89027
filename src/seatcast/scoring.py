"""Decision values of a fitted linear model, computed straight from cleaned chunks.

``seatcast predict`` spends most of its time turning cleaned tweets into features.
:class:`LinearScorer` gives the same decision values as the model's
``pipeline.decision_function``, with less work per tweet:

* each distinct token is looked up once for all feature groups (the scikit-learn pipeline
  looks it up once per group), and new tokens are analyzed once and cached;
* a chunk can come as the one string of
  :func:`seatcast.preprocess.clean_chunk_lines`, so no list is built per tweet;
* each feature group's rows are multiplied by that group's share of the SVM weights, so the
  groups are never joined into one matrix.

It applies to a pipeline of the :mod:`seatcast.features` union and a linear SVM, the model
that ``seatcast train`` builds without ``model.calibrate``. :meth:`LinearScorer.supports`
checks whether a pipeline qualifies. Calibrated models keep using the pipeline itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from seatcast.features import (
    MAX_CACHED_TOKENS,
    CharNgrams,
    IntColumn,
    TokenCache,
    TokenIds,
    TweetFeatures,
    WordNgrams,
    document_lengths,
    tfidf_from_counts,
)

__all__ = ["LinearScorer", "TokenLessons"]

# The line between two tweets in clean_chunk_lines' string. It gets token id 0.
_SEPARATOR_TOKEN = "\0"

_FEATURE_TYPES = {"word": WordNgrams, "char": CharNgrams, "tweet": TweetFeatures}


def _n_columns(transformer: WordNgrams | CharNgrams | TweetFeatures) -> int:
    if isinstance(transformer, TweetFeatures):
        return len(transformer.feature_names)
    return len(transformer.idf_)


@dataclass(frozen=True)
class TokenLessons:
    """Tokens one :class:`LinearScorer` analyzed, with what it computed for them."""

    tokens: list[str]
    # The word n-gram id of each token, or None when the pipeline has no word n-grams.
    word_ids: list[int] | None
    # For each cached feature group: the number of columns of each token, and all the columns
    # one token after the other.
    columns: list[tuple[np.ndarray, np.ndarray]]


class LinearScorer:
    """Compute a linear pipeline's decision values from cleaned tweets.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline whose first step is the feature union of
        :func:`seatcast.features.build_features` and whose last step is a
        :class:`~sklearn.svm.LinearSVC` (or a subclass). See :meth:`supports`.
    max_tokens : int, default=None
        Distinct tokens kept in the cache before it starts again; ``MAX_CACHED_TOKENS`` when
        ``None``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of the decision value columns.

    Raises
    ------
    ValueError
        If the pipeline is not of the supported kind.
    """

    def __init__(self, pipeline: Pipeline, max_tokens: int | None = None):
        if not self.supports(pipeline):
            raise ValueError(
                "LinearScorer needs a pipeline of the seatcast feature union and a LinearSVC"
            )
        union: FeatureUnion = pipeline.steps[0][1]
        svm: LinearSVC = pipeline.steps[-1][1]
        coef = np.asarray(svm.coef_, dtype=np.float64)
        self.classes_ = svm.classes_
        self._intercept = np.asarray(svm.intercept_, dtype=np.float64)
        self._max_tokens = MAX_CACHED_TOKENS if max_tokens is None else max_tokens
        self._word: WordNgrams | None = None
        self._cached: list[tuple[CharNgrams | TweetFeatures, np.ndarray]] = []
        offset = 0
        for name, transformer in union.transformer_list:
            width = _n_columns(transformer)
            # (width, n_classes), so a feature group's rows times it give its share.
            weights = np.ascontiguousarray(coef[:, offset : offset + width].T)
            offset += width
            if name == "word":
                self._word = transformer
                self._word_weights = weights
            else:
                self._cached.append((transformer, weights))
        if offset != coef.shape[1]:
            raise ValueError(
                f"the SVM has {coef.shape[1]} weights but the features give {offset} columns"
            )
        self._identity_matrix: sp.csr_matrix | None = None
        # The tokens this scorer analyzed itself, while it records them.
        self._learned: list[str] | None = None
        self._reset()

    @staticmethod
    def supports(pipeline: object) -> bool:
        """Check whether ``pipeline`` is of the kind :class:`LinearScorer` can score."""
        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
            return False
        union, svm = pipeline.steps[0][1], pipeline.steps[-1][1]
        if not isinstance(union, FeatureUnion) or union.transformer_weights:
            return False
        if not isinstance(svm, LinearSVC) or not hasattr(svm, "coef_"):
            return False
        names = [name for name, _ in union.transformer_list]
        if len(set(names)) != len(names) or not names:
            return False
        return all(
            isinstance(transformer, _FEATURE_TYPES.get(name, ()))
            for name, transformer in union.transformer_list
        )

    # -----------------------------------------------------------------------------------------
    # The token table

    def _reset(self) -> None:
        self._ids = TokenIds(self._add)
        self._word_ids = IntColumn()
        self._caches = [
            TokenCache(transformer.token_analyzer(), max_tokens=self._max_tokens + 1)
            for transformer, _ in self._cached
        ]
        self._ids[_SEPARATOR_TOKEN]  # id 0
        # Every scorer has the separator, so it is not passed on.
        if self._learned is not None:
            self._learned = []

    def _add(self, token: str) -> int:
        token_id = len(self._ids)
        if self._word is not None:
            self._word_ids.append(self._word.token_id(token))
        for cache in self._caches:
            if cache.add(token) != token_id:  # the caches add tokens in the same order
                raise RuntimeError("the token caches of LinearScorer are out of step")
        self._ids[token] = token_id
        if self._learned is not None:
            self._learned.append(token)
        return token_id

    def _lookup(self, tokens) -> np.ndarray:
        if len(self._ids) >= self._max_tokens:
            self._reset()
        return np.fromiter(map(self._ids.__getitem__, tokens), dtype=np.int64)

    # -----------------------------------------------------------------------------------------
    # Sharing the token table with the scorers of other processes

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def record(self, on: bool) -> None:
        """Start (``on``) or stop recording the tokens this scorer analyzes itself, for
        :meth:`take_learned`. Starting drops what was recorded before."""
        self._learned = [] if on else None

    def take_learned(self) -> TokenLessons | None:
        """Return the tokens analyzed since the last call, with what was computed for them,
        and forget them.

        Returns ``None`` when there are none or the scorer is not recording. Tokens added by
        :meth:`learn` are not among them.
        """
        tokens = self._learned
        if not tokens:
            return None
        self._learned = []
        ids = [self._ids[token] for token in tokens]
        word_ids = None
        if self._word is not None:
            word_ids = [self._word_ids.values[token_id] for token_id in ids]
        columns = []
        for cache in self._caches:
            parts = [cache.columns(token_id) for token_id in ids]
            lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
            columns.append((lengths, np.concatenate(parts)))
        return TokenLessons(tokens, word_ids, columns)

    def learn(self, lessons: TokenLessons) -> None:
        """Add tokens analyzed by the scorer of another process for the same pipeline (see
        :meth:`take_learned`).

        Tokens already known are left as they are. The token table starts again afterwards
        when it has reached its size limit.
        """
        per_cache = [
            np.split(values, np.cumsum(lengths)[:-1]) for lengths, values in lessons.columns
        ]
        for index, token in enumerate(lessons.tokens):
            if token in self._ids:
                continue
            token_id = len(self._ids)
            if self._word is not None:
                self._word_ids.append(lessons.word_ids[index])  # type: ignore[index]
            for cache, parts in zip(self._caches, per_cache, strict=True):
                if cache.add_columns(token, parts[index]) != token_id:
                    raise RuntimeError("the token caches of LinearScorer are out of step")
            self._ids[token] = token_id
        # A process that seldom scores a chunk itself still learns every token of the others.
        if len(self._ids) >= self._max_tokens:
            self._reset()

    # -----------------------------------------------------------------------------------------
    # Scoring

    def decision_function(self, documents: Sequence[Sequence[str]]) -> np.ndarray:
        """Return the decision values of token lists.

        Parameters
        ----------
        documents : sequence of sequence of str
            Cleaned tweets, as :func:`seatcast.preprocess.clean_chunk` returns them.

        Returns
        -------
        ndarray
            Shape ``(n_documents,)`` for a binary model, else ``(n_documents, n_classes)``;
            the values of ``pipeline.decision_function(documents)``.
        """
        lengths = document_lengths(documents)
        ids = self._lookup(chain.from_iterable(documents))
        return self._decide(ids, lengths)

    def decision_function_lines(self, cleaned: str, n_documents: int) -> np.ndarray:
        """Return the decision values of a chunk cleaned by ``clean_chunk_lines``.

        Parameters
        ----------
        cleaned : str
            The string of :func:`seatcast.preprocess.clean_chunk_lines`.
        n_documents : int
            The number of tweets in the chunk.

        Returns
        -------
        ndarray
            As for :meth:`decision_function`.

        Raises
        ------
        ValueError
            If ``cleaned`` does not hold ``n_documents`` tweets.
        """
        ids = self._lookup(cleaned.split("\n") if cleaned else ())
        separators = ids == 0
        if int(separators.sum()) != n_documents - 1:
            raise ValueError(
                f"invalid cleaned chunk: it contains {int(separators.sum()) + 1} tweets, "
                f"expected {n_documents}"
            )
        documents = np.cumsum(separators)
        tokens = ~separators
        lengths = np.bincount(documents[tokens], minlength=n_documents)
        return self._decide(ids[tokens], lengths)

    def _decide(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        n_documents = len(lengths)
        scores = np.tile(self._intercept, (n_documents, 1))
        if self._word is not None:
            rows = self._word.transform_ids(self._word_ids.array()[ids], lengths)
            scores += rows @ self._word_weights
        for (transformer, weights), cache in zip(self._cached, self._caches, strict=True):
            rows, columns = cache.expand(ids, lengths)
            if isinstance(transformer, CharNgrams):
                counts = _merged_counts(rows, columns, n_documents, self._identity(transformer))
                matrix = tfidf_from_counts(counts, transformer.idf_, transformer.sublinear_tf)
            else:
                matrix = transformer.transform_pairs(rows, columns, n_documents)
            scores += matrix @ weights
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _identity(self, transformer: CharNgrams) -> sp.csr_matrix:
        if self._identity_matrix is None:
            n_columns = len(transformer.idf_)
            self._identity_matrix = sp.identity(n_columns, dtype=np.float32, format="csr")
        return self._identity_matrix


def _merged_counts(
    rows: np.ndarray, columns: np.ndarray, n_documents: int, identity: sp.csr_matrix
) -> sp.csr_matrix:
    """Count the (document, column) pairs, given in document order, into a CSR matrix.

    Building the matrix with repeated entries and multiplying it by the identity merges the
    repeats with scipy's sparse product, which adds them up row by row with a dense
    accumulator. That is about twice as fast as ``sum_duplicates``, which sorts every row;
    the rows of the result are left unsorted.
    """
    indptr = np.zeros(n_documents + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_documents), out=indptr[1:])
    shape = (n_documents, identity.shape[0])
    repeated = sp.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), columns, indptr), shape=shape
    )
    return repeated @ identity
