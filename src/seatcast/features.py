"""Feature extraction for pre-tokenized tweets.

Every transformer here takes a list of token lists, as made by
:func:`seatcast.preprocess.clean`, so that tweets are tokenized once per run while every
vectorizer is still fit inside each cross-validation fold. :func:`build_features` joins them
in a :class:`~sklearn.pipeline.FeatureUnion` whose parts are named ``word``, ``char`` and
``tweet``:

* :class:`WordNgrams`: word n-grams with TF-IDF weights and a negation scope (the tokens after
  a negation word, up to the next clause punctuation, get a ``_NEG`` suffix);
* :class:`CharNgrams`: character n-grams inside each token, padded with a space on both sides
  (like scikit-learn's ``char_wb`` analyzer), with TF-IDF weights;
* :class:`TweetFeatures`: tweet-level counts of elongated and all-caps words, exclamation and
  question marks, positive and negative emoticons and emoji, and negation words.

Speed matters because ``seatcast predict`` classifies millions of tweets. The transformers
therefore do almost no Python work per n-gram: each distinct token is looked up once in a
dictionary and everything after that runs in NumPy over a whole chunk of tweets. Tweet
vocabularies are Zipfian, so the per-token caches of :class:`CharNgrams` and
:class:`TweetFeatures` serve almost every lookup after the first few thousand tweets.
``docs/model.md`` records the accuracy and throughput of each setting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from seatcast.config import FeatureSettings
from seatcast.errors import ConfigError

__all__ = [
    "CHAR_MAX_TOKEN_DF",
    "NEGATION_WORDS",
    "NEGATIVE_EMOJI",
    "POSITIVE_EMOJI",
    "CharNgrams",
    "TweetFeatures",
    "WordNgrams",
    "build_features",
    "char_ngrams",
    "mark_negation",
]

# Words that open a negation scope (lower case, after cleaning).
NEGATION_WORDS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "nowhere",
        "cannot",
        "without",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "won't",
        "wouldn't",
        "can't",
        "couldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "ain't",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "wont",
        "wouldnt",
        "cant",
        "couldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
    ]
)

# Emoji whose sentiment is clear in most tweets, compared after skin tones and variation
# selectors are removed. The lists are chosen by hand. "Face with tears of joy" counts as
# positive because it mostly marks laughter.
POSITIVE_EMOJI = frozenset(
    "😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩😇🥳😻😸😹😺😛😜😝☺😌"
    "❤♥💕💖💗💘💙💚💛💜🧡💓💞💝"
    "👍👏🙌💪🎉🎊✨🌟⭐🔥💯👌🤝🏆🥇👑🌹🌸💐🙏✌"
)
NEGATIVE_EMOJI = frozenset("😞😔😟😕🙁☹😣😖😫😩😢😭😤😠😡🤬😱😨😰😥😓😪😿😾🤮🤢💩🖕🤦😒🙄💔👎😬😵")

# A token that ends a negation scope: clause punctuation.
_SCOPE_END_RE = re.compile(r"^[.:;!?,]+$")

# Token prefixes that are never negated: markers (<url>, <elong>), hashtags and mentions.
_UNMARKED_PREFIXES = ("<", "#", "@")
NEGATION_SUFFIX = "_NEG"

# Emoticons as the tokenizer emits them, lower-cased by cleaning.
_POSITIVE_EMOTICON_RE = re.compile(r"^(?:[:=;xX8][-o*']?[)\]}dDpP3]|<3|\^_?\^|\(:)$")
_NEGATIVE_EMOTICON_RE = re.compile(r"^(?:[:=;][-o*']?[(\[{/\\|]|:'\(|\):|D:)$")

# Emoji modifiers removed before the emoji lists are consulted: variation selectors U+FE0E
# and U+FE0F, the zero-width joiner and the five skin tones.
_EMOJI_MODIFIER_RE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")

# Multiplier of the 64-bit polynomial hash that keys word n-grams of two or more tokens.
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)

# Tokens in more than this share of the training tweets get no character n-grams. On the
# SemEval data 0.05 leaves out about 60 tokens (the, to, i, @user, <url>, punctuation), which
# are frequent enough to carry a large share of all character n-grams, while the development
# scores stay within 0.2 points (docs/model.md).
CHAR_MAX_TOKEN_DF = 0.05

# Distinct tokens a per-token cache keeps before it starts again, so that memory stays bounded
# on an endless stream of new tokens (an estimated 200 bytes each for character n-grams).
MAX_CACHED_TOKENS = 2_000_000


# ---------------------------------------------------------------------------------------------
# Reference functions for one tweet


def mark_negation(tokens: Sequence[str]) -> list[str]:
    """Return the tokens with ``_NEG`` appended to each token in a negation scope.

    A scope opens after a word in :data:`NEGATION_WORDS` and closes at the next clause
    punctuation token or at the end of the tweet. Markers (``<url>``), hashtags and mentions
    inside a scope are left as they are. :class:`WordNgrams` applies the same rule to a whole
    chunk at once.
    """
    marked: list[str] = []
    negated = False
    for token in tokens:
        if _SCOPE_END_RE.match(token):
            negated = False
            marked.append(token)
        elif negated and not token.startswith(_UNMARKED_PREFIXES):
            marked.append(token + NEGATION_SUFFIX)
        else:
            marked.append(token)
            if token in NEGATION_WORDS:
                negated = True
    return marked


def char_ngrams(token: str, ngram_range: tuple[int, int]) -> list[str]:
    """Return the character n-grams of one token padded with a space on each side.

    A padded token shorter than ``n`` yields itself once and ends the list, as scikit-learn's
    ``char_wb`` analyzer does.
    """
    padded = f" {token} "
    low, high = ngram_range
    grams: list[str] = []
    for n in range(low, high + 1):
        if len(padded) <= n:
            grams.append(padded)
            break
        grams.extend([padded[i : i + n] for i in range(len(padded) - n + 1)])
    return grams


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _check_range(name: str, value: Sequence[int]) -> tuple[int, int]:
    low, high = (int(item) for item in value)
    if low < 1 or low > high:
        raise ConfigError(
            f"`features.{name}` must be [low, high] with 1 <= low <= high; got {value}"
        )
    return low, high


def document_lengths(documents: Sequence[Sequence[str]]) -> np.ndarray:
    return np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))


def _encode_strings(strings: Iterable[str]) -> np.ndarray:
    """Pack strings into one UTF-8 byte array, separated by newlines.

    Tokens never contain a newline (the tokenizer splits on whitespace), and one array stores
    far smaller and loads far faster with skops than a list or dict of strings.
    """
    text = "\n".join(strings)
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8).copy()


def _decode_strings(blob: np.ndarray, count: int) -> list[str]:
    if count == 0:
        return []
    strings = blob.tobytes().decode("utf-8", "surrogatepass").split("\n")
    if len(strings) != count:
        raise ValueError(f"string table contains {len(strings)} entries; expected {count}")
    return strings


def _tfidf_rows(
    rows: np.ndarray,
    cols: np.ndarray,
    n_documents: int,
    idf: np.ndarray,
    sublinear_tf: bool,
) -> sp.csr_matrix:
    """Build L2-normalised TF-IDF rows from (document, column) pairs, one pair per occurrence."""
    counts = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(n_documents, len(idf)),
        dtype=np.float32,
    )
    counts.sum_duplicates()
    return tfidf_from_counts(counts, idf, sublinear_tf)


def tfidf_from_counts(counts: sp.csr_matrix, idf: np.ndarray, sublinear_tf: bool) -> sp.csr_matrix:
    """Turn a matrix of counts without repeated entries into L2-normalised TF-IDF rows, in
    place. The entries of a row need not be sorted."""
    if sublinear_tf:
        np.log(counts.data, out=counts.data)
        counts.data += 1.0
    counts.data *= idf[counts.indices]
    return normalize(counts, norm="l2", copy=False)


def _smooth_idf(document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """Return scikit-learn's smoothed IDF: ``ln((1 + n) / (1 + df)) + 1``."""
    return (np.log((1.0 + n_documents) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def _select_columns(
    document_frequency: np.ndarray,
    total_count: np.ndarray,
    min_df: int,
    max_features: int | None,
) -> np.ndarray:
    """Return the sorted candidate indices kept by ``min_df`` and ``max_features``.

    Like scikit-learn, ``max_features`` keeps the most frequent terms over the whole corpus.
    """
    kept = np.flatnonzero(document_frequency >= min_df)
    if max_features is not None and len(kept) > max_features:
        order = np.argsort(-total_count[kept], kind="stable")[:max_features]
        kept = np.sort(kept[order])
    return kept


def _pair_frequencies(
    rows: np.ndarray, keys: np.ndarray, n_keys: int
) -> tuple[np.ndarray, np.ndarray]:
    """Count the documents and occurrences of each key in 0..n_keys-1."""
    total = np.bincount(keys, minlength=n_keys)
    # A CSR matrix sums repeated (row, key) pairs within each row, which is much faster than
    # sorting all pairs at once. Each stored entry is then one document of a key.
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    counts = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, keys)), shape=(n_rows, n_keys)
    )
    counts.sum_duplicates()
    document = np.bincount(counts.indices, minlength=n_keys)
    return document, total


class TokenIds(dict):
    """Token-to-id dictionary that calls ``missing(token)`` for an unknown token."""

    def __init__(self, missing: Callable[[str], int]):
        super().__init__()
        self._missing = missing

    def __missing__(self, token: str) -> int:
        return self._missing(token)


class IntColumn:
    """A growing list of integers with a NumPy copy that is brought up to date lazily.

    Appending to a list is cheap, and copying only the new tail into a buffer that doubles
    when full keeps :meth:`array` cheap too, however long the list grows.
    """

    def __init__(self) -> None:
        self.values: list[int] = []
        self._array = np.zeros(0, dtype=np.int64)
        self._synced = 0

    def __len__(self) -> int:
        return len(self.values)

    def append(self, value: int) -> None:
        """Add one value at the end."""
        self.values.append(value)

    def array(self) -> np.ndarray:
        """Return a buffer whose first ``len(self)`` entries are the values (it may be longer)."""
        count = len(self.values)
        if count != self._synced:
            if count > len(self._array):
                grown = np.zeros(max(count, 2 * len(self._array), 1024), dtype=np.int64)
                grown[: self._synced] = self._array[: self._synced]
                self._array = grown
            self._array[self._synced : count] = self.values[self._synced : count]
            self._synced = count
        return self._array


class TokenCache:
    """Per-token cache of column arrays for a whole chunk of tweets.

    ``analyze(token)`` returns the columns that one token contributes, with a column repeated
    once per occurrence. It runs once per distinct token; :meth:`gather` then expands a chunk
    with NumPy indexing alone. The cache starts again once it contains ``max_tokens`` tokens.
    """

    def __init__(self, analyze: Callable[[str], np.ndarray], max_tokens: int | None = None):
        self._analyze = analyze
        self._max_tokens = MAX_CACHED_TOKENS if max_tokens is None else max_tokens
        self._reset()

    def _reset(self) -> None:
        self._ids = TokenIds(self._add)
        self._starts = IntColumn()
        self._lengths = IntColumn()
        self._buffer = np.zeros(1024, dtype=np.int32)
        self._used = 0
        self._has_dropped = False

    def __len__(self) -> int:
        return len(self._ids)

    def _add(self, token: str) -> int:
        return self._append(token, self._analyze(token))

    def _append(self, token: str, columns: np.ndarray) -> int:
        needed = self._used + len(columns)
        if needed > len(self._buffer):
            grown = np.zeros(max(needed, 2 * len(self._buffer)), dtype=np.int32)
            grown[: self._used] = self._buffer[: self._used]
            self._buffer = grown
        self._buffer[self._used : needed] = columns
        token_id = len(self._ids)
        self._ids[token] = token_id
        self._starts.append(self._used)
        self._lengths.append(len(columns))
        self._used = needed
        return token_id

    def renumber(self, mapping: np.ndarray, analyze: Callable[[str], np.ndarray]) -> None:
        """Map every cached column through ``mapping`` and use ``analyze`` from now on.

        Columns that map to -1 stay in the cache and are left out by :meth:`gather`.
        """
        self._buffer[: self._used] = mapping[self._buffer[: self._used]]
        self._analyze = analyze
        self._has_dropped = True

    def gather(self, documents: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Return the (document, column) pairs of a chunk, one pair per occurrence."""
        if len(self._ids) >= self._max_tokens:
            self._reset()
        lengths = document_lengths(documents)
        ids = np.fromiter(
            map(self._ids.__getitem__, chain.from_iterable(documents)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        return self.expand(ids, lengths)

    def add(self, token: str) -> int:
        """Return the id of ``token``, analyzing and caching it first when it is new."""
        return self._ids[token]

    def add_columns(self, token: str, columns: np.ndarray) -> int:
        """Return the id of ``token``, first caching ``columns`` for it when it is new.

        The columns come from another cache with the same analyzer.
        """
        token_id = self._ids.get(token)
        return self._append(token, columns) if token_id is None else token_id

    def columns(self, token_id: int) -> np.ndarray:
        """Return the cached columns of one token id, one per occurrence."""
        start = self._starts.values[token_id]
        return self._buffer[start : start + self._lengths.values[token_id]]

    @property
    def full(self) -> bool:
        """Whether the cache has reached its size limit and should be reset."""
        return len(self._ids) >= self._max_tokens

    def reset(self) -> None:
        """Forget every cached token."""
        self._reset()

    def expand(self, ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the (document, column) pairs of cached token ids, one pair per occurrence.

        ``ids`` lists the tokens of every document in order, and ``lengths`` gives how many
        belong to each document.
        """
        starts = self._starts.array()
        per_token = self._lengths.array()[ids]
        total = int(per_token.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        token_rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        rows = np.repeat(token_rows, per_token)
        # Position k of the output reads buffer[start of its token + k - first k of its token].
        first = np.cumsum(per_token) - per_token
        offsets = np.repeat(starts[ids] - first, per_token) + np.arange(total)
        columns = self._buffer[offsets]
        if self._has_dropped:
            found = columns >= 0
            rows, columns = rows[found], columns[found]
        return rows, columns


class _CachedTransformer(TransformerMixin, BaseEstimator):
    """Base of the transformers that keep a runtime cache, which is never saved."""

    _CACHE_ATTRIBUTES: tuple[str, ...] = ()

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._CACHE_ATTRIBUTES:
            state.pop(name, None)
        return state


# ---------------------------------------------------------------------------------------------
# Word n-grams


class WordNgrams(_CachedTransformer):
    """Word n-grams with TF-IDF weights, with an optional negation scope.

    The result matches scikit-learn's ``TfidfVectorizer`` (smoothed IDF, L2 norm) fed with the
    n-grams of :func:`mark_negation` tokens, but the n-grams are found with array operations
    on a whole chunk: each token is looked up once, n-grams of two or more tokens are keyed by
    a 64-bit polynomial hash of their token ids, and keys are matched with a binary search.

    Parameters
    ----------
    ngram_range : tuple of int, default=(1, 2)
        The smallest and largest n.
    negation : bool, default=True
        Whether tokens in a negation scope become separate features (``good_NEG``).
    min_df : int, default=1
        Keep n-grams found in at least this many training tweets.
    max_features : int, default=None
        Keep at most this many n-grams, the most frequent first.
    sublinear_tf : bool, default=True
        Use ``1 + log(count)`` in place of the count.

    Notes
    -----
    Two different n-grams share a hash key with a probability of about 2**-64 per pair, so a
    collision between a training n-gram and an unseen one is possible in principle but
    vanishingly rare; :meth:`fit` rejects collisions among the training n-grams.
    """

    _CACHE_ATTRIBUTES = ("_token_ids", "_ngram_index")

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        negation: bool = True,
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
    ):
        self.ngram_range = ngram_range
        self.negation = negation
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    # Token ids: 0..n-1 for training tokens, then three ids for unknown tokens that are plain,
    # that end a negation scope, and that open one.
    def _unknown_id(self, token: str) -> int:
        base = self.n_tokens_
        if _SCOPE_END_RE.match(token):
            token_id = base + 1
        elif token in NEGATION_WORDS:
            token_id = base + 2
        else:
            token_id = base
        # Remembered, because unknown tokens (names, other languages) repeat too.
        self._token_ids[token] = token_id
        return token_id

    def _ids(self) -> TokenIds:
        table = self.__dict__.get("_token_ids")
        if table is None or len(table) >= self.n_tokens_ + MAX_CACHED_TOKENS:
            table = TokenIds(self._unknown_id)
            table.update(
                (token, index)
                for index, token in enumerate(_decode_strings(self.tokens_blob_, self.n_tokens_))
            )
            self._token_ids = table
        return table

    def _token_flags(self, tokens: list[str]) -> None:
        flags = np.zeros((3, len(tokens) + 3), dtype=bool)
        for index, token in enumerate(tokens):
            flags[0, index] = token in NEGATION_WORDS
            flags[1, index] = _SCOPE_END_RE.match(token) is not None
            flags[2, index] = not token.startswith(_UNMARKED_PREFIXES)
        n = len(tokens)
        flags[1, n + 1] = True
        flags[0, n + 2] = True
        flags[2, n:] = True
        self.opens_scope_, self.ends_scope_, self.markable_ = flags

    def _marked_ids(self, documents: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Return each token's id times two, plus one when it is in a negation scope, and the
        document lengths."""
        lengths = document_lengths(documents)
        table = self._ids()
        ids = np.fromiter(
            map(table.__getitem__, chain.from_iterable(documents)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        return self._mark(ids, lengths), lengths

    def _key_index(self):
        """Return a hash index of ``ngram_keys_``, built on first use.

        pandas looks keys up in a C hash table, several times faster than a binary search
        over the sorted keys.
        """
        index = self.__dict__.get("_ngram_index")
        if index is None:
            import pandas as pd

            index = pd.Index(self.ngram_keys_)
            self._ngram_index = index
        return index

    def token_id(self, token: str) -> int:
        """Return the id of one token: its training id, or the id of its unknown kind."""
        return self._ids()[token]

    def _mark(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Double the token ids of a chunk and add one to those in a negation scope."""
        marked = ids * 2
        if self.negation and len(ids):
            marked += (
                _negation_scope(ids, lengths, self.opens_scope_, self.ends_scope_)
                & (self.markable_[ids])
            )
        return marked

    def _ngram_keys(
        self, marked: np.ndarray, lengths: np.ndarray, n: int, known: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the hash keys of the n-grams inside each document and their document rows.

        With ``known`` (one flag per token), only n-grams made of flagged tokens are returned.
        """
        if len(marked) < n:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        count = len(marked) - n + 1
        inside = rows[:count] == rows[n - 1 :]
        if known is not None:
            for offset in range(n):
                inside &= known[offset : offset + count]
        keys = np.full(count, n, dtype=np.uint64)
        as_unsigned = marked.astype(np.uint64)
        for offset in range(n):
            keys = keys * _HASH_MULTIPLIER + as_unsigned[offset : offset + count]
        return keys[inside], rows[:count][inside]

    def fit(self, documents: Sequence[Sequence[str]], y=None) -> WordNgrams:
        """Learn the n-gram vocabulary and IDF weights from token lists."""
        low, high = _check_range("word_ngram_range", self.ngram_range)
        tokens = list(dict.fromkeys(chain.from_iterable(documents)))
        self.n_tokens_ = len(tokens)
        self.tokens_blob_ = _encode_strings(tokens)
        self._token_flags(tokens)
        self.__dict__.pop("_token_ids", None)
        marked, lengths = self._marked_ids(documents)
        n_documents = len(documents)
        n_marked = 2 * (self.n_tokens_ + 3)

        # Candidates: unigrams by marked id, then each longer n by distinct hash key.
        frequencies = []
        candidates: list[tuple[int, np.ndarray]] = []
        if low == 1:
            rows = np.repeat(np.arange(n_documents, dtype=np.int64), lengths)
            document, total = _pair_frequencies(rows, marked, n_marked)
            frequencies.append((document, total))
            candidates.append((1, np.arange(n_marked, dtype=np.int64)))
        first_positions: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in range(max(low, 2), high + 1):
            keys, rows = self._ngram_keys(marked, lengths, n)
            distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            document, total = _pair_frequencies(rows, inverse.ravel(), len(distinct))
            frequencies.append((document, total))
            candidates.append((n, distinct))
            first_positions[n] = (first, self._window_starts(lengths, n))

        document = np.concatenate([item[0] for item in frequencies]) if frequencies else np.zeros(0)
        total = np.concatenate([item[1] for item in frequencies]) if frequencies else np.zeros(0)
        kept = _select_columns(document, total, self.min_df, self.max_features)
        self.idf_ = _smooth_idf(document[kept], n_documents)

        # Column layout: kept unigrams, then the kept n-grams of each n in key order.
        self.unigram_columns_ = np.full(n_marked, -1, dtype=np.int32)
        feature_ids = np.full((len(kept), high), -1, dtype=np.int32)
        ngram_keys: list[np.ndarray] = []
        offset = 0
        column = 0
        for n, values in candidates:
            chosen = kept[(kept >= offset) & (kept < offset + len(values))] - offset
            columns = np.arange(column, column + len(chosen), dtype=np.int32)
            if n == 1:
                self.unigram_columns_[values[chosen]] = columns
                feature_ids[columns, 0] = values[chosen]
            else:
                ngram_keys.append(values[chosen])
                first, starts = first_positions[n]
                positions = starts[first[chosen]]
                for k in range(n):
                    feature_ids[columns, k] = marked[positions + k]
            offset += len(values)
            column += len(chosen)
        self.ngram_keys_ = (
            np.concatenate(ngram_keys) if ngram_keys else np.zeros(0, dtype=np.uint64)
        )
        # Unigram columns come first, so n-gram columns follow in the order of their keys.
        n_unigrams = column - len(self.ngram_keys_)
        order = np.argsort(self.ngram_keys_, kind="stable")
        self.ngram_keys_ = self.ngram_keys_[order]
        self.ngram_columns_ = (n_unigrams + order).astype(np.int32)
        if len(self.ngram_keys_) > 1 and np.any(self.ngram_keys_[1:] == self.ngram_keys_[:-1]):
            raise ValueError("two training n-grams share a hash key; change word_ngram_range")
        self.feature_ids_ = feature_ids
        return self

    @staticmethod
    def _window_starts(lengths: np.ndarray, n: int) -> np.ndarray:
        """Return the token positions where the n-grams of :meth:`_ngram_keys` start."""
        total = int(lengths.sum())
        if total < n:
            return np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        count = total - n + 1
        return np.flatnonzero(rows[:count] == rows[n - 1 :])

    def transform(self, documents: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Return the TF-IDF rows of token lists."""
        check_is_fitted(self, "idf_")
        marked, lengths = self._marked_ids(documents)
        return self.transform_marked(marked, lengths)

    def transform_ids(self, ids: np.ndarray, lengths: np.ndarray) -> sp.csr_matrix:
        """Return the TF-IDF rows of a chunk given as token ids (see :meth:`token_id`) and
        the number of tokens in each document."""
        return self.transform_marked(self._mark(ids, lengths), lengths)

    def transform_marked(self, marked: np.ndarray, lengths: np.ndarray) -> sp.csr_matrix:
        """Return the TF-IDF rows of a chunk given as marked ids and document lengths."""
        low, high = _check_range("word_ngram_range", self.ngram_range)
        n_documents = len(lengths)
        all_rows: list[np.ndarray] = []
        all_cols: list[np.ndarray] = []
        if low == 1:
            columns = self.unigram_columns_[marked]
            rows = np.repeat(np.arange(n_documents, dtype=np.int64), lengths)
            found = columns >= 0
            all_rows.append(rows[found])
            all_cols.append(columns[found])
        if len(self.ngram_keys_):
            # Only n-grams of training tokens can match, so the others skip the search.
            known = marked < 2 * self.n_tokens_
            for n in range(max(low, 2), high + 1):
                keys, rows = self._ngram_keys(marked, lengths, n, known)
                position = self._key_index().get_indexer(keys)
                found = position >= 0
                all_rows.append(rows[found])
                all_cols.append(self.ngram_columns_[position[found]])
        rows = np.concatenate(all_rows) if all_rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(all_cols) if all_cols else np.zeros(0, dtype=np.int64)
        return _tfidf_rows(rows, cols, n_documents, self.idf_, self.sublinear_tf)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the n-gram of each column, tokens joined by spaces."""
        check_is_fitted(self, "idf_")
        tokens = _decode_strings(self.tokens_blob_, self.n_tokens_)
        tokens += ["<unknown>", "<unknown punctuation>", "<unknown negation>"]
        names = []
        for ids in self.feature_ids_:
            words = [
                tokens[i // 2] + (NEGATION_SUFFIX if i % 2 else "") for i in ids.tolist() if i >= 0
            ]
            names.append(" ".join(words))
        return np.asarray(names, dtype=object)


def _negation_scope(
    ids: np.ndarray, lengths: np.ndarray, opens: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Tell for each token of a chunk whether it is inside a negation scope.

    Mirrors :func:`mark_negation` without a Python loop. Events get times on a doubled scale:
    a negation word at position q opens a scope at time 2q (for the tokens after it), a scope
    end at r closes it at 2r (itself included), and a new tweet starting at s closes it at
    2s - 1, before its first token can open a new one. A token is in a scope when the latest
    opening before it is later than the latest closing up to it.
    """
    positions = np.arange(len(ids), dtype=np.int64)
    open_time = np.where(opens[ids], 2 * positions, -4)
    latest_open = np.empty_like(open_time)
    latest_open[0] = -4
    np.maximum.accumulate(open_time[:-1], out=latest_open[1:])
    close_time = np.where(ends[ids], 2 * positions, -3)
    starts = np.cumsum(lengths) - lengths
    starts = starts[lengths > 0]
    close_time[starts] = np.maximum(close_time[starts], 2 * starts - 1)
    latest_close = np.maximum.accumulate(close_time)
    return latest_open > latest_close


# ---------------------------------------------------------------------------------------------
# Character n-grams


class CharNgrams(_CachedTransformer):
    """Character n-grams inside each token, with TF-IDF weights.

    Each token is padded with a space on both sides, as in scikit-learn's ``char_wb``
    analyzer, so n-grams never span two tokens. The columns of each distinct token are
    computed once and cached, so the transform costs about one dictionary lookup per token.
    The cache is rebuilt after loading and is never saved.

    Parameters
    ----------
    ngram_range : tuple of int, default=(2, 5)
        The shortest and longest n-gram, in characters.
    min_df : int, default=2
        Keep n-grams found in at least this many training tweets.
    max_features : int, default=None
        Keep at most this many n-grams, the most frequent first.
    sublinear_tf : bool, default=True
        Use ``1 + log(count)`` in place of the count.
    max_token_df : float, default=1.0
        Tokens found in more than this share of the training tweets get no character n-grams.
        The most frequent tokens (``the``, ``@user``, punctuation) are fully described by
        their word features, while their character n-grams make up a large part of every
        tweet's n-grams, so leaving them out saves time at no cost in accuracy.
    """

    _CACHE_ATTRIBUTES = ("_cache", "_vocabulary", "_range", "_frequent")

    def __init__(
        self,
        ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 2,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        max_token_df: float = 1.0,
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.max_token_df = max_token_df

    def _frequent_tokens(self) -> frozenset[str]:
        frequent = self.__dict__.get("_frequent")
        if frequent is None:
            frequent = frozenset(_decode_strings(self.frequent_tokens_blob_, self.n_frequent_))
            self._frequent = frequent
        return frequent

    def _token_columns(self, token: str) -> np.ndarray:
        if token in self._frequent_tokens():
            return np.zeros(0, dtype=np.int32)
        get = self._vocabulary_table().get
        grams = char_ngrams(token, self._range)
        return np.array([column for column in map(get, grams) if column is not None], np.int32)

    def _vocabulary_table(self) -> dict[str, int]:
        table = self.__dict__.get("_vocabulary")
        if table is None:
            grams = _decode_strings(self.ngrams_blob_, len(self.idf_))
            table = {gram: index for index, gram in enumerate(grams)}
            self._vocabulary = table
        return table

    def _token_cache(self) -> TokenCache:
        cache = self.__dict__.get("_cache")
        if cache is None:
            self._range = _check_range("char_ngram_range", self.ngram_range)
            cache = TokenCache(self._token_columns)
            self._cache = cache
        return cache

    def fit(self, documents: Sequence[Sequence[str]], y=None) -> CharNgrams:
        """Learn the n-gram vocabulary and IDF weights from token lists."""
        ngram_range = _check_range("char_ngram_range", self.ngram_range)
        if not 0.0 < self.max_token_df <= 1.0:
            raise ConfigError(
                f"`max_token_df` must be a share in (0, 1]; got {self.max_token_df!r}"
            )
        token_df = Counter(chain.from_iterable(set(tokens) for tokens in documents))
        limit = self.max_token_df * len(documents)
        frequent = sorted(token for token, count in token_df.items() if count > limit)
        self.n_frequent_ = len(frequent)
        self.frequent_tokens_blob_ = _encode_strings(frequent)
        self._frequent = frozenset(frequent)

        # Provisional ids for every n-gram of every distinct token that is not frequent.
        provisional: dict[str, int] = {}

        def analyze(token: str) -> np.ndarray:
            if token in self._frequent:
                return np.zeros(0, dtype=np.int32)
            grams = char_ngrams(token, ngram_range)
            return np.asarray(
                [provisional.setdefault(gram, len(provisional)) for gram in grams], dtype=np.int32
            )

        provisional_cache = TokenCache(analyze)
        rows, keys = provisional_cache.gather(documents)
        document, total = _pair_frequencies(rows, keys, len(provisional))
        kept = _select_columns(document, total, self.min_df, self.max_features)
        grams = list(provisional)
        self.idf_ = _smooth_idf(document[kept], len(documents))
        self.ngrams_blob_ = _encode_strings(grams[i] for i in kept.tolist())
        for name in ("_cache", "_vocabulary", "_range"):
            self.__dict__.pop(name, None)
        # The training tokens' columns are known now: renumber the provisional cache to serve
        # as the runtime cache, so that fit_transform does not analyze every token twice.
        renumber = np.full(len(provisional) + 1, -1, dtype=np.int32)
        renumber[kept] = np.arange(len(kept), dtype=np.int32)
        provisional_cache.renumber(renumber, self._token_columns)
        self._cache = provisional_cache
        self._range = ngram_range
        return self

    def transform(self, documents: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Return the TF-IDF rows of token lists."""
        check_is_fitted(self, "idf_")
        rows, cols = self._token_cache().gather(documents)
        return self.transform_pairs(rows, cols, len(documents))

    def token_analyzer(self) -> Callable[[str], np.ndarray]:
        """Return the function that gives the columns of one token, one per occurrence."""
        check_is_fitted(self, "idf_")
        self._token_cache()
        return self._token_columns

    def transform_pairs(
        self, rows: np.ndarray, cols: np.ndarray, n_documents: int
    ) -> sp.csr_matrix:
        """Return the TF-IDF rows of (document, column) pairs, one pair per occurrence."""
        return _tfidf_rows(rows, cols, n_documents, self.idf_, self.sublinear_tf)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the character n-gram of each column (spaces mark token edges)."""
        check_is_fitted(self, "idf_")
        return np.asarray(_decode_strings(self.ngrams_blob_, len(self.idf_)), dtype=object)


# ---------------------------------------------------------------------------------------------
# Tweet-level counts


def _tweet_columns(token: str) -> list[int]:
    """Return the :class:`TweetFeatures` columns that one token adds to, one entry per count."""
    # Most tokens are words of letters and digits. Emoticons made of letters (xD, 8p) have at
    # most three characters, so longer words can only be negation words.
    if len(token) > 3 and token.isalnum():
        return [8] if token in NEGATION_WORDS else []
    if token == "<elong>":
        return [0]
    if token == "<allcaps>":
        return [1]
    if "!" in token and not token.strip("!"):
        return [2] * len(token)
    if "?" in token and not token.strip("?"):
        return [3] * len(token)
    if _POSITIVE_EMOTICON_RE.match(token):
        return [4]
    if _NEGATIVE_EMOTICON_RE.match(token):
        return [5]
    if token in NEGATION_WORDS:
        return [8]
    base = _EMOJI_MODIFIER_RE.sub("", token)
    if base and all(char in POSITIVE_EMOJI for char in base):
        return [6] * len(base)
    if base and all(char in NEGATIVE_EMOJI for char in base):
        return [7] * len(base)
    return []


def _tweet_token_columns(token: str) -> np.ndarray:
    return np.asarray(_tweet_columns(token), dtype=np.int32)


class TweetFeatures(_CachedTransformer):
    """Tweet-level counts, scaled by ``log1p``, as a sparse matrix.

    The columns are listed in ``feature_names``. Emoji are compared without skin tones and
    variation selectors, and an emoji sequence counts once per base emoji it contains. The
    transformer learns nothing, so fitting it inside a fold is free.
    """

    _CACHE_ATTRIBUTES = ("_cache",)

    feature_names = (
        "n_elongated",
        "n_allcaps",
        "n_exclamation",
        "n_question",
        "n_positive_emoticons",
        "n_negative_emoticons",
        "n_positive_emoji",
        "n_negative_emoji",
        "n_negations",
    )

    def fit(self, documents, y=None) -> TweetFeatures:
        """Do nothing: the counts need no fitting."""
        return self

    def transform(self, documents: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Count the features in each token list."""
        cache = self.__dict__.get("_cache")
        if cache is None:
            cache = TokenCache(_tweet_token_columns)
            self._cache = cache
        rows, cols = cache.gather(documents)
        return self.transform_pairs(rows, cols, len(documents))

    @staticmethod
    def token_analyzer() -> Callable[[str], np.ndarray]:
        """Return the function that gives the columns of one token, one per count."""
        return _tweet_token_columns

    def transform_pairs(
        self, rows: np.ndarray, cols: np.ndarray, n_documents: int
    ) -> sp.csr_matrix:
        """Return the scaled counts of (document, column) pairs, one pair per count."""
        counts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)),
            shape=(n_documents, len(self.feature_names)),
        )
        counts.sum_duplicates()
        np.log1p(counts.data, out=counts.data)
        return counts

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the column names."""
        return np.asarray(self.feature_names, dtype=object)


def build_features(settings: FeatureSettings) -> FeatureUnion:
    """Build the feature union for the given settings (unfitted).

    Raises
    ------
    ConfigError
        If an n-gram range is not ``[low, high]`` with ``1 <= low <= high``.
    """
    word_range = _check_range("word_ngram_range", settings.word_ngram_range)
    # Word n-grams longer than six tokens almost never repeat across tweets, so a longer
    # range only adds fitting time.
    if word_range[1] > 6:
        raise ConfigError(f"`features.word_ngram_range` must end at 6 or less; got {word_range[1]}")
    parts: list[tuple[str, object]] = [
        (
            "word",
            WordNgrams(
                ngram_range=word_range,
                negation=settings.negation,
                min_df=settings.word_min_df,
                max_features=settings.word_max_features,
                sublinear_tf=settings.sublinear_tf,
            ),
        )
    ]
    if settings.char_ngram_range is not None:
        parts.append(
            (
                "char",
                CharNgrams(
                    ngram_range=_check_range("char_ngram_range", settings.char_ngram_range),
                    min_df=settings.char_min_df,
                    max_features=settings.char_max_features,
                    sublinear_tf=settings.sublinear_tf,
                    max_token_df=CHAR_MAX_TOKEN_DF,
                ),
            )
        )
    if settings.tweet_features:
        parts.append(("tweet", TweetFeatures()))
    return FeatureUnion(parts)
