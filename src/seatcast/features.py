"""Feature extraction for pre-tokenized tweets.

Every transformer here takes a list of token lists, as made by
:func:`seatcast.preprocess.clean`, so that tweets are tokenized once per run while every
vectorizer is still fit inside each cross-validation fold. The features are:

* word n-grams with TF-IDF weights, with an optional negation scope: the tokens after a
  negation word, up to the next punctuation mark, get a ``_NEG`` suffix;
* character n-grams with TF-IDF weights, within word boundaries (optional);
* a few tweet-level counts (:class:`TweetFeatures`): elongated and all-caps words,
  exclamation and question marks, positive and negative emoticons, and negations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from seatcast.config import FeatureSettings

__all__ = [
    "NEGATION_WORDS",
    "TokenNgrams",
    "TweetFeatures",
    "build_features",
    "join_tokens",
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

# A token that ends a negation scope: clause punctuation.
_SCOPE_END_RE = re.compile(r"^[.:;!?,]+$")

_POSITIVE_EMOTICON_RE = re.compile(r"^(?:[:=;xX8][-o*']?[)\]}dDpP3]|<3|\^_?\^|\(:)$")
_NEGATIVE_EMOTICON_RE = re.compile(r"^(?:[:=;][-o*']?[(\[{/\\|]|:'\(|\):|D:)$")


def mark_negation(tokens: Sequence[str]) -> list[str]:
    """Return the tokens with ``_NEG`` appended to each token in a negation scope.

    A scope opens after a word in :data:`NEGATION_WORDS` and closes at the next clause
    punctuation token or at the end of the tweet.
    """
    marked: list[str] = []
    negated = False
    for token in tokens:
        if _SCOPE_END_RE.match(token):
            negated = False
            marked.append(token)
        elif negated and token[0] not in "<#@":
            marked.append(token + "_NEG")
        else:
            marked.append(token)
            if token in NEGATION_WORDS:
                negated = True
    return marked


class TokenNgrams:
    """Analyzer that turns a token list into word n-grams, for :class:`TfidfVectorizer`.

    Parameters
    ----------
    ngram_range : tuple of int, default=(1, 2)
        The smallest and largest n.
    negation : bool, default=True
        Whether to mark negation scopes first (see :func:`mark_negation`).
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), negation: bool = True):
        self.ngram_range = tuple(ngram_range)
        self.negation = negation

    def __call__(self, tokens: Sequence[str]) -> list[str]:
        words = mark_negation(tokens) if self.negation else list(tokens)
        low, high = self.ngram_range
        grams = list(words) if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams


def join_tokens(documents: Sequence[Sequence[str]]) -> list[str]:
    """Join each token list with spaces, as input for the character n-gram vectorizer."""
    return [" ".join(tokens) for tokens in documents]


class TweetFeatures(TransformerMixin, BaseEstimator):
    """Tweet-level counts, scaled by ``log1p``, as a sparse matrix.

    The columns are, in order: elongated words (``<elong>`` markers), all-caps words
    (``<allcaps>``), exclamation marks, question marks, positive emoticons, negative emoticons
    and negation words. The transformer learns nothing, so fitting it inside a fold is free.
    """

    feature_names = (
        "n_elongated",
        "n_allcaps",
        "n_exclamation",
        "n_question",
        "n_positive_emoticons",
        "n_negative_emoticons",
        "n_negations",
    )

    def fit(self, documents, y=None):
        """Do nothing: the counts need no fitting."""
        return self

    def transform(self, documents: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Count the features in each token list."""
        rows = np.zeros((len(documents), len(self.feature_names)), dtype=np.float64)
        for i, tokens in enumerate(documents):
            row = rows[i]
            for token in tokens:
                if token == "<elong>":
                    row[0] += 1
                elif token == "<allcaps>":
                    row[1] += 1
                elif "!" in token and not token.strip("!"):
                    row[2] += len(token)
                elif "?" in token and not token.strip("?"):
                    row[3] += len(token)
                elif _POSITIVE_EMOTICON_RE.match(token):
                    row[4] += 1
                elif _NEGATIVE_EMOTICON_RE.match(token):
                    row[5] += 1
                elif token in NEGATION_WORDS:
                    row[6] += 1
        return sp.csr_matrix(np.log1p(rows))

    def get_feature_names_out(self, input_features=None):
        """Return the column names."""
        return np.asarray(self.feature_names, dtype=object)


def build_features(settings: FeatureSettings) -> FeatureUnion:
    """Build the feature union for the given settings (unfitted)."""
    word = TfidfVectorizer(
        analyzer=TokenNgrams(tuple(settings.word_ngram_range), settings.negation),
        min_df=settings.word_min_df,
        max_features=settings.word_max_features,
        sublinear_tf=settings.sublinear_tf,
        lowercase=False,
        dtype=np.float32,
    )
    parts: list[tuple[str, object]] = [("word", word)]
    if settings.char_ngram_range is not None:
        char = Pipeline(
            [
                ("join", FunctionTransformer(join_tokens)),
                (
                    "tfidf",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=tuple(settings.char_ngram_range),
                        min_df=settings.char_min_df,
                        max_features=settings.char_max_features,
                        sublinear_tf=settings.sublinear_tf,
                        lowercase=False,
                        dtype=np.float32,
                    ),
                ),
            ]
        )
        parts.append(("char", char))
    if settings.tweet_features:
        parts.append(("tweet", TweetFeatures()))
    return FeatureUnion(parts)
