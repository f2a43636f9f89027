"""Tokenize and clean tweets.

Every function here is a pure function of its arguments: no I/O and no pools, so
``clean_chunk`` can run in any worker process. The only state is a bounded per-thread cache
of cleaned text units (see :mod:`seatcast.units`), which never changes a result.

``tokenize`` splits a tweet into the tokens that NLTK's ``TweetTokenizer`` (NLTK 3.10) would
return, with a few deliberate differences listed in ``docs/tokenizer.md``. It is one compiled
``findall`` regex, built from the ordered tuple ``TOKEN_PATTERNS`` of
:mod:`seatcast.patterns`.

``clean`` tokenizes and then normalises each token according to a ``CleanOptions``: case,
lengthening, URLs, mentions, hashtags, marker tokens and the removal of label emoticons.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seatcast.errors import ConfigError
from seatcast.patterns import (
    EMOTICON_RE,
    ENTITY_RE,
    FAST_SYMBOL,
    FAST_WORD,
    HANDLE_RE,
    LABEL_EMOTICONS,
    LETTER,
    NEGATIVE_EMOTICONS,
    POSITIVE_EMOTICONS,
    REPEATED_LETTER_RE,
    REPEATED_SYMBOL_RE,
    RETWEET_RE,
    RUN_OF_FOUR_RE,
    SPECIAL_TOKEN_RE,
    TOKEN_PATTERNS,
    TOKEN_RE,
    URL_RE,
    WHITESPACE_RE,
    WORD_CHAR,
)
from seatcast.units import UnitCache, cache_for

__all__ = [
    "DEFAULT_OPTIONS",
    "FAST_SYMBOL",
    "FAST_WORD",
    "LABEL_EMOTICONS",
    "LETTER",
    "NEGATIVE_EMOTICONS",
    "POSITIVE_EMOTICONS",
    "REPEATED_SYMBOL_RE",
    "TOKEN_PATTERNS",
    "TOKEN_RE",
    "WORD_CHAR",
    "CleanOptions",
    "clean",
    "clean_chunk",
    "clean_chunk_lines",
    "clean_units",
    "is_retweet",
    "join_for_units",
    "line_cache",
    "normalize_for_match",
    "split_token_lines",
    "tokenize",
]


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------

_ALLOWED_VALUES = {
    "urls": ("token", "remove", "keep"),
    "mentions": ("token", "remove", "keep"),
    "hashtags": ("keep", "strip", "remove"),
}
_BOOLEAN_FIELDS = ("lowercase", "reduce_len", "mark_elongation", "mark_allcaps")

URL_TOKEN = "<url>"
MENTION_TOKEN = "@user"
ELONGATION_TOKEN = "<elong>"
ALLCAPS_TOKEN = "<allcaps>"


@dataclass(frozen=True)
class CleanOptions:
    """Settings for ``clean``.

    Parameters
    ----------
    lowercase : bool, default=True
        Lower-case every token, including emoticons (":D" and ":d" both become ":d") and
        the URLs and mentions that ``urls="keep"`` or ``mentions="keep"`` keep. Marker
        tokens such as "<url>" are always lower case.
    reduce_len : bool, default=True
        Cut runs of four or more of one letter inside a word to three ("sooooo" -> "sooo").
        Digits, URLs, mentions and hashtags are never cut.
    urls : {"token", "remove", "keep"}, default="token"
        Replace each URL with "<url>", drop it, or keep it.
    mentions : {"token", "remove", "keep"}, default="token"
        Replace each @handle with "@user", drop it, or keep it.
    hashtags : {"keep", "strip", "remove"}, default="keep"
        Keep "#win", strip the sign to "win", or drop the hashtag.
    mark_elongation : bool, default=True
        Emit "<elong>" after a word whose letter run was four or more long. Applies whether
        or not ``reduce_len`` cuts the run.
    mark_allcaps : bool, default=True
        Emit "<allcaps>" after a word that starts with a capital and has at least two
        letters, all of them capitals: "OMG" and "I'M", but not "I", "2ND" or "XD".
    strip_emoticons : frozenset of str, default=frozenset()
        Emoticons to drop from the output, compared before lower-casing. Pass
        ``LABEL_EMOTICONS`` when training on data labelled by emoticon. An entry with a
        space, such as ": )", removes that pair of adjacent tokens.

    Raises
    ------
    ConfigError
        If a value is outside the allowed set or has the wrong type.
    """

    lowercase: bool = True
    reduce_len: bool = True
    urls: str = "token"
    mentions: str = "token"
    hashtags: str = "keep"
    mark_elongation: bool = True
    mark_allcaps: bool = True
    strip_emoticons: frozenset[str] = frozenset()
    # Derived in __post_init__: single-token and two-token emoticons to drop.
    _strip_single: frozenset[str] = field(init=False, repr=False, compare=False)
    _strip_pairs: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _BOOLEAN_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigError(f"`preprocess.{name}` must be true or false; got {value!r}")
        for name, allowed in _ALLOWED_VALUES.items():
            value = getattr(self, name)
            if value not in allowed:
                choices = ", ".join(repr(choice) for choice in allowed)
                raise ConfigError(f"`preprocess.{name}` must be one of {choices}; got {value!r}")

        emoticons = self.strip_emoticons
        if isinstance(emoticons, str) or not isinstance(emoticons, Iterable):
            raise ConfigError(
                "`preprocess.strip_emoticons` must be a set of emoticon strings such as "
                f"[':)', ':('], not a single string; got {emoticons!r}"
            )
        emoticons = frozenset(emoticons)
        bad = sorted(
            repr(item) for item in emoticons if not isinstance(item, str) or not item.strip()
        )
        if bad:
            raise ConfigError(
                "`preprocess.strip_emoticons` must contain only non-empty strings; "
                f"got {', '.join(bad)}"
            )
        single = frozenset(item for item in emoticons if len(item.split()) == 1)
        pairs = frozenset(tuple(item.split()) for item in emoticons if len(item.split()) == 2)
        longer = sorted(repr(item) for item in emoticons if len(item.split()) > 2)
        if longer:
            raise ConfigError(
                "`preprocess.strip_emoticons` entries must be one token or two tokens "
                f"separated by a space; got {', '.join(longer)}"
            )
        object.__setattr__(self, "strip_emoticons", emoticons)
        object.__setattr__(self, "_strip_single", single)
        object.__setattr__(self, "_strip_pairs", pairs)


DEFAULT_OPTIONS = CleanOptions()


# --------------------------------------------------------------------------------------------
# Tokenizing
# --------------------------------------------------------------------------------------------


def _replace_entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def tokenize(text: str) -> list[str]:
    """Split a tweet into tokens, keeping case.

    Parameters
    ----------
    text : str
        One tweet. HTML entities such as ``&amp;`` are unescaped first.

    Returns
    -------
    list of str
        Tokens in order: URLs, @handles, #hashtags, emoticons, emoji sequences, contractions
        and words, numbers and single symbols.

    Notes
    -----
    Matches NLTK's ``TweetTokenizer().tokenize`` except for the differences listed in
    ``docs/tokenizer.md``. Like NLTK, it cuts runs of four or more identical symbols to three.
    """
    if "&" in text:
        text = ENTITY_RE.sub(_replace_entity, text)
    if RUN_OF_FOUR_RE.search(text) is not None:
        text = REPEATED_SYMBOL_RE.sub(r"\1\1\1", text)
    return TOKEN_RE.findall(text.rstrip())


# --------------------------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------------------------

# Letter emoticons that look like capitalised words.
_WORD_EMOTICONS = frozenset({"XD", "XP"})


def _is_url(token: str) -> bool:
    return ("." in token or ":" in token) and URL_RE.fullmatch(token) is not None


def _is_allcaps_word(token: str) -> bool:
    return (
        token.isupper()
        and sum(map(str.isalpha, token)) >= 2
        and token not in _WORD_EMOTICONS
        and EMOTICON_RE.fullmatch(token) is None
    )


def _cut_lengthening(tokens: list[str], options: CleanOptions) -> list[str]:
    """Cut letter runs of four or more in word tokens and add ``<elong>`` after them."""
    output: list[str] = []
    for token in tokens:
        if (
            token[0].isalpha()
            and "@" not in token
            and REPEATED_LETTER_RE.search(token) is not None
            and not _is_url(token)
        ):
            output.append(REPEATED_LETTER_RE.sub(r"\1\1\1", token) if options.reduce_len else token)
            if options.mark_elongation:
                output.append(ELONGATION_TOKEN)
        else:
            output.append(token)
    return output


def _remove_pairs(tokens: list[str], pairs: frozenset[tuple[str, str]]) -> list[str]:
    """Drop adjacent token pairs listed in ``pairs``, such as (":", ")") for ": )"."""
    output: list[str] = []
    index = 0
    while index < len(tokens):
        if index + 1 < len(tokens) and (tokens[index], tokens[index + 1]) in pairs:
            index += 2
            continue
        output.append(tokens[index])
        index += 1
    return output


def _replace_special(match: re.Match[str], options: CleanOptions) -> str:
    """Return the replacement for one SPECIAL_TOKEN_RE match: a line break, then the token's
    lines (nothing after the line break drops the token)."""
    kind = match.lastgroup
    token = match.group(kind)
    if kind == "mention":
        return "\n" + (
            MENTION_TOKEN if options.mentions == "token" else _kept(token, options.mentions)
        )
    if kind == "hashtag":
        if options.hashtags == "strip":
            return "\n" + token.lstrip("#")
        return "\n" + _kept(token, options.hashtags)
    if kind == "url" and URL_RE.fullmatch(token) is not None:
        return "\n" + (URL_TOKEN if options.urls == "token" else _kept(token, options.urls))
    if options.mark_allcaps and _is_allcaps_word(token):
        return f"\n{token}\n{ALLCAPS_TOKEN}"
    return "\n" + token


def _kept(token: str, mode: str) -> str:
    return "" if mode == "remove" else token


def clean(text: str, options: CleanOptions = DEFAULT_OPTIONS) -> list[str]:
    """Tokenize a tweet and normalise its tokens.

    Parameters
    ----------
    text : str
        One tweet, any string. Lone surrogates, NUL and other control characters become
        tokens or count as whitespace. Nothing is rejected.
    options : CleanOptions, default=DEFAULT_OPTIONS
        What to do with case, lengthening, URLs, mentions, hashtags and emoticons.

    Returns
    -------
    list of str
        The cleaned tokens, or an empty list when nothing is left.

    Notes
    -----
    The steps, in order:

    1. Unescape HTML entities.
    2. Write curly apostrophes (’) as ASCII ones.
    3. Cut runs of four or more identical symbols to three.
    4. Tokenize.
    5. Drop ``strip_emoticons``.
    6. Cut letter runs in words and add ``<elong>``.
    7. Replace or drop mentions, hashtags and URLs, and add ``<allcaps>``.
    8. Lower-case.
    """
    if "&" in text:
        text = ENTITY_RE.sub(_replace_entity, text)
    if "’" in text:
        text = text.replace("’", "'")
    has_runs = RUN_OF_FOUR_RE.search(text) is not None
    if has_runs:
        text = REPEATED_SYMBOL_RE.sub(r"\1\1\1", text)
    tokens = TOKEN_RE.findall(text.rstrip())

    if options._strip_single:
        strip = options._strip_single
        tokens = [token for token in tokens if token not in strip]
    if options._strip_pairs:
        tokens = _remove_pairs(tokens, options._strip_pairs)
    if has_runs and (options.reduce_len or options.mark_elongation):
        tokens = _cut_lengthening(tokens, options)
    if not tokens:
        return []

    # One regex pass over all tokens, so Python code runs only for the special ones.
    joined = SPECIAL_TOKEN_RE.sub(
        lambda match: _replace_special(match, options), "\n" + "\n".join(tokens) + "\n"
    )
    if options.lowercase:
        joined = joined.lower()
    cleaned = joined.strip("\n").split("\n")
    if "" in cleaned:
        cleaned = [token for token in cleaned if token]
    return cleaned


def clean_chunk(texts: Sequence[str], options: CleanOptions = DEFAULT_OPTIONS) -> list[list[str]]:
    """Clean a chunk of tweets in order, as the worker function of parallel runs.

    Parameters
    ----------
    texts : sequence of str
        Tweets in order.
    options : CleanOptions, default=DEFAULT_OPTIONS
        How to clean every tweet, as for ``clean``.

    Returns
    -------
    list of list of str
        ``[clean(text, options) for text in texts]``, in the same order.

    Notes
    -----
    The chunk is cleaned as one string: the tweets joined by ``_SEPARATOR``, so each regex
    pass runs once per chunk instead of once per tweet, and only over the units (runs of
    non-space text) that this process has not cleaned before. No token can contain a line
    break, so the NUL between two line breaks always comes out as a token of its own and
    marks where one tweet's tokens end. Tweets that contain a NUL themselves are cleaned
    one by one.
    """
    if not texts:
        return []
    lines = clean_chunk_lines(texts, options)
    if lines is not None:
        return split_token_lines(lines)
    # Some tweets contain a NUL: the others are cleaned as a chunk, those one by one.
    lines = clean_chunk_lines(["" if "\0" in text else text for text in texts], options)
    if lines is None:
        return [clean(text, options) for text in texts]
    documents = split_token_lines(lines)
    for index, text in enumerate(texts):
        if "\0" in text:
            documents[index] = clean(text, options)
    return documents


def clean_chunk_lines(texts: Sequence[str], options: CleanOptions = DEFAULT_OPTIONS) -> str | None:
    """Clean a chunk of tweets into one string of token lines, for the fastest consumers.

    Parameters
    ----------
    texts : sequence of str
        Tweets in order.
    options : CleanOptions, default=DEFAULT_OPTIONS
        How to clean every tweet, as for ``clean``.

    Returns
    -------
    str or None
        Each token of ``clean(text, options)`` on a line of its own, tweet after tweet, with
        a line holding only a NUL character between two tweets; :func:`split_token_lines`
        turns it back into token lists. ``None`` when the chunk is empty or a tweet contains
        a NUL, which the format cannot hold; use :func:`clean_chunk` then.

    Notes
    -----
    The string is what :func:`clean_chunk` builds before it splits it, so skipping the
    lists saves their cost when the caller can work on the string as a whole, as the JSON
    Lines writer and the linear scorer do.
    """
    text = _join_unescaped(texts, options)
    if text is None:
        return None
    if options._strip_pairs:
        # A pair such as ": )" spans two units, so the units cannot be cleaned one by one.
        lines = _clean_unescaped(text, options)
    else:
        lines = line_cache(options).join(text)
        if "\n\n" in lines:
            lines = _BLANK_LINES_RE.sub("\n", lines)
        lines = lines.strip("\n")
    # Every boundary line survives cleaning, so this only guards the format against a bug.
    if lines.count("\0") != len(texts) - 1:
        return None
    return lines


def split_token_lines(lines: str) -> list[list[str]]:
    """Split the string of :func:`clean_chunk_lines` into one token list per tweet."""
    documents: list[list[str]] = []
    for piece in lines.split("\0"):
        piece = piece.strip("\n")
        documents.append(piece.split("\n") if piece else [])
    return documents


def join_for_units(texts: Sequence[str], options: CleanOptions = DEFAULT_OPTIONS) -> str | None:
    """Join a chunk of tweets for cleaning unit by unit.

    Parameters
    ----------
    texts : sequence of str
        Tweets in order.
    options : CleanOptions, default=DEFAULT_OPTIONS
        How the tweets will be cleaned.

    Returns
    -------
    str or None
        The tweets with HTML entities unescaped and curly apostrophes straightened, joined
        by a NUL between two line breaks. Cleaning each unit of it (see
        :mod:`seatcast.units`) with :func:`clean_units` and putting the results in order
        gives the tokens of :func:`clean_chunk_lines`, with a unit holding only a NUL
        between two tweets. ``None`` when the chunk is empty, a tweet contains a NUL, or
        ``options`` drop pairs of tokens, which may span two units.
    """
    if options._strip_pairs:
        return None
    return _join_unescaped(texts, options)


def clean_units(units: list[str], options: CleanOptions = DEFAULT_OPTIONS) -> str:
    """Clean the units of a string of :func:`join_for_units` in one batch.

    Parameters
    ----------
    units : list of str
        Units without a NUL in them.
    options : CleanOptions, default=DEFAULT_OPTIONS
        How to clean them.

    Returns
    -------
    str
        The tokens of each unit on lines of their own, unit after unit, with a line holding
        only a NUL between two units: the format of :func:`clean_chunk_lines`, with units
        in place of tweets.
    """
    return _clean_unescaped(_SEPARATOR.join(units), options)


# Between two tweets of a chunk. A NUL can only be a token of its own (see clean_chunk).
_SEPARATOR = "\n\0\n"

# Two or more line breaks: where clean dropped a token.
_BLANK_LINES_RE = re.compile(r"\n\n+")

# Maximum number of units one cache (per thread and options) keeps before it is emptied. It
# also has a budget of characters (see seatcast.units.UnitCache).
UNIT_CACHE_LIMIT = 250_000


def _join_unescaped(texts: Sequence[str], options: CleanOptions) -> str | None:
    """Join tweets by ``_SEPARATOR`` and do the steps of ``clean`` that come before the
    tokenizer.

    Returns ``None`` when the chunk is empty or a NUL is in a tweet or in an emoticon to strip,
    because a NUL marks where one tweet ends.
    """
    if not texts or any("\0" in item for item in options.strip_emoticons):
        return None
    text = _SEPARATOR.join(texts)
    if text.count("\0") != len(texts) - 1:
        return None
    if "&" in text:
        text = ENTITY_RE.sub(_replace_entity, text)
    if "’" in text:
        text = text.replace("’", "'")
    return text


def line_cache(options: CleanOptions) -> UnitCache:
    """Return this thread's cache of token lines for ``options``, which
    :func:`clean_chunk_lines` uses."""
    return cache_for(
        ("lines", options),
        lambda: UnitCache(
            lambda units: [part.strip("\n") for part in clean_units(units, options).split("\0")],
            UNIT_CACHE_LIMIT,
            {"\0": "\0"},
        ),
    )


def _clean_unescaped(text: str, options: CleanOptions) -> str:
    """Clean text that ``_join_unescaped`` has prepared: the rest of the steps of ``clean``,
    for the whole string at once.

    Returns the tokens one per line, with the NUL lines between tweets kept and no empty
    lines, as :func:`clean_chunk_lines` describes.
    """
    has_runs = RUN_OF_FOUR_RE.search(text) is not None
    # The first four letters of every letter run, such as "oooo".
    letter_runs: set[str] = set()
    if has_runs:
        # Scanning for runs of any character and cutting only the symbol runs is several
        # times faster than REPEATED_SYMBOL_RE over the whole chunk, with the same result.
        text = _RUN_RE.sub(lambda match: _cut_symbol_run(match, letter_runs), text)
    tokens = TOKEN_RE.findall(text.rstrip())
    if options._strip_single:
        strip = options._strip_single
        tokens = [token for token in tokens if token not in strip]
    if options._strip_pairs:
        tokens = _remove_pairs(tokens, options._strip_pairs)
    joined = "\n".join(tokens)
    # A token with a letter run can only come from a tweet with a run of four, so cutting
    # every such token is the same as clean cutting them in the tweets that have runs.
    if letter_runs and (options.reduce_len or options.mark_elongation):
        joined = _cut_lengthened_lines(joined, letter_runs, options)
    # The pattern starts with a line break, which lets the regex engine jump from one line
    # to the next instead of trying every character.
    joined = SPECIAL_TOKEN_RE.sub(lambda match: _replace_special(match, options), f"\n{joined}\n")
    if options.lowercase:
        joined = joined.lower()
    if "\n\n" in joined:
        joined = _BLANK_LINES_RE.sub("\n", joined)
    return joined.strip("\n")


# A run of four or more of one character, whatever it is.
_RUN_RE = re.compile(r"(.)\1\1\1\1*", re.DOTALL)


def _cut_symbol_run(match: re.Match[str], letter_runs: set[str]) -> str:
    """Cut one ``_RUN_RE`` match to three characters when REPEATED_SYMBOL_RE would, and add
    the start of a letter run to ``letter_runs``."""
    run = match.group()
    if REPEATED_LETTER_RE.match(run) is not None:
        letter_runs.add(run[:4])
        return run
    return REPEATED_SYMBOL_RE.sub(r"\1\1\1", run)


# Above this many distinct letter runs, _cut_lengthened_lines finds their lines with one regex
# pass instead of one str.find pass per run.
_FIND_RUNS_MAX = 128


def _cut_lengthened_lines(joined: str, letter_runs: set[str], options: CleanOptions) -> str:
    """Apply ``_cut_lengthening`` to the tokens, written one per line in ``joined``, that
    contain one of ``letter_runs``.

    Tokens are parts of the text in which the runs were found, so a token with a letter run
    contains one of them. For a few runs, one ``str.find`` pass per run is much faster than a
    regex scan of the whole chunk. For many runs, the one regex pass is faster.
    """
    line_starts: set[int] = set()
    if len(letter_runs) > _FIND_RUNS_MAX:
        # Each str.find pass reads the whole text, so many runs take one regex pass instead.
        for match in REPEATED_LETTER_RE.finditer(joined):
            line_starts.add(joined.rfind("\n", 0, match.start()) + 1)
    else:
        for run in letter_runs:
            position = joined.find(run)
            while position >= 0:
                line_starts.add(joined.rfind("\n", 0, position) + 1)
                line_end = joined.find("\n", position)
                if line_end < 0:
                    break
                position = joined.find(run, line_end)
    if not line_starts:
        return joined
    pieces: list[str] = []
    end = 0
    for line_start in sorted(line_starts):
        line_end = joined.find("\n", line_start)
        if line_end < 0:
            line_end = len(joined)
        pieces.append(joined[end:line_start])
        pieces.append("\n".join(_cut_lengthening([joined[line_start:line_end]], options)))
        end = line_end
    pieces.append(joined[end:])
    return "".join(pieces)


# --------------------------------------------------------------------------------------------
# Matching and retweets
# --------------------------------------------------------------------------------------------

_QUOTES = "\"'“”‘’"


def normalize_for_match(text: str) -> str:
    """Build the key used to find the same tweet in two data sets.

    Parameters
    ----------
    text : str
        One tweet.

    Returns
    -------
    str
        The tweet with HTML entities unescaped, URLs removed, @handles written "@user",
        lower-cased, whitespace collapsed to single spaces, and surrounding quotes and spaces
        trimmed.
    """
    if "&" in text:
        text = ENTITY_RE.sub(_replace_entity, text)
    text = URL_RE.sub(" ", text)
    text = HANDLE_RE.sub(MENTION_TOKEN, text)
    text = WHITESPACE_RE.sub(" ", text.lower())
    return text.strip(" " + _QUOTES)


def is_retweet(text: str) -> bool:
    """Check whether a tweet is an old-style retweet ("RT @handle: ...").

    Parameters
    ----------
    text : str
        One tweet.

    Returns
    -------
    bool
        True when the text starts with "RT" and a @handle, in any case, possibly after
        quotes or spaces. "RT" elsewhere in the tweet does not count.
    """
    return RETWEET_RE.match(text) is not None
