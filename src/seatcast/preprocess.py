"""Tokenize and clean tweets.

Everything here is a pure function of its arguments: no I/O, no pools and no module state that
changes after import, so ``clean_chunk`` can run in any worker process.

``tokenize`` splits a tweet into the tokens that NLTK's ``TweetTokenizer`` (NLTK 3.10) would
return, with a few deliberate differences listed in ``docs/tokenizer.md``. It is one compiled
``findall`` regex, built from the ordered tuple ``TOKEN_PATTERNS``.

``clean`` tokenizes and then normalises each token according to a ``CleanOptions``: case,
lengthening, URLs, mentions, hashtags, marker tokens and the removal of label emoticons.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seatcast.errors import ConfigError

__all__ = [
    "DEFAULT_OPTIONS",
    "LABEL_EMOTICONS",
    "LETTER",
    "NEGATIVE_EMOTICONS",
    "POSITIVE_EMOTICONS",
    "TOKEN_PATTERNS",
    "TOKEN_RE",
    "WORD_CHAR",
    "CleanOptions",
    "clean",
    "clean_chunk",
    "clean_chunk_lines",
    "is_retweet",
    "normalize_for_match",
    "split_token_lines",
    "tokenize",
]


# --------------------------------------------------------------------------------------------
# Character classes
# --------------------------------------------------------------------------------------------


def _class_body(predicate, ranges: Iterable[range]) -> str:
    """Build the body of a regex character class from the code points where ``predicate`` holds.

    Code points are written as ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes so the class survives
    verbose mode and never contains a raw ``]``, ``-`` or ``\\``.
    """
    parts: list[str] = []
    start = previous = -2
    for code_point in (cp for block in ranges for cp in block):
        if not predicate(chr(code_point)):
            continue
        if code_point != previous + 1:
            if start >= 0:
                parts.append(_class_range(start, previous))
            start = code_point
        previous = code_point
    if start >= 0:
        parts.append(_class_range(start, previous))
    return "".join(parts)


def _class_range(first: int, last: int) -> str:
    def escape(code_point: int) -> str:
        return f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}"

    return escape(first) if first == last else f"{escape(first)}-{escape(last)}"


# Only the Basic Multilingual Plane is scanned. With astral ranges in a class, Python's re
# tests those ranges one by one, and the tokenizer ran five times slower on SemEval tweets.
# Astral letters (such as the bold letters from U+1D400) are still word characters via ``\w``.
_SCANNED_CODE_POINTS = (range(0x10000),)

# Python's ``\w`` has no combining marks, so Devanagari vowel signs, accents written as
# combining characters and U+FE0F would split words that NLTK (built on the ``regex``
# module, whose ``\w`` includes marks) keeps whole.
# NOTE: astral marks (Brahmi, Chakma and other historic or minority scripts) are not in
# these classes, so words in those scripts split at each mark.
_MARKS = _class_body(lambda c: unicodedata.category(c)[0] == "M", _SCANNED_CODE_POINTS)
_LETTERS = _class_body(str.isalpha, _SCANNED_CODE_POINTS)
# Upper- and lower-case letters, for finding all-caps words.
_UPPER = _class_body(str.isupper, _SCANNED_CODE_POINTS)
_LOWER = _class_body(str.islower, _SCANNED_CODE_POINTS)

# A word character: Python's \w plus marks and the zero-width (non-)joiners used inside
# Indic words. A letter is a BMP letter, mark or joiner (no digits, no underscore).
WORD_CHAR = rf"[\w{_MARKS}\u200c\u200d]"
LETTER = rf"[{_LETTERS}{_MARKS}\u200c\u200d]"

# Emoji modifiers that belong to the character before them: text/emoji variation selectors,
# the keycap mark and the five skin tones.
_EMOJI_MODIFIER_CHARS = r"\ufe0e\ufe0f\u20e3\U0001F3FB-\U0001F3FF"
EMOJI_MODIFIER = rf"[{_EMOJI_MODIFIER_CHARS}]"


# --------------------------------------------------------------------------------------------
# Token patterns, in verbose mode: a literal space or # must be escaped
# --------------------------------------------------------------------------------------------

# Performance shortcut, not a token kind of its own: a word that no later pattern could
# extend or split differently. The lookaheads list what lets a later pattern take over: a
# joiner or emoji modifier right after the first letter (an emoji sequence), and after the
# word the characters that continue a URL (including "www."), an e-mail address, a word or
# a mouth-first emoticon such as d': or p^=. A word followed by any of them falls through to
# the full patterns below, so the result is the same either way (a test checks this).
FAST_WORD = rf"""
    {LETTER} (?! [\u200d{_EMOJI_MODIFIER_CHARS}] ) {LETTER}*+ (?: ['’\-_]++ {LETTER}++ )*+
    (?!
        [\w’\-@:;=/*+{_EMOJI_MODIFIER_CHARS}]
      | \. (?: [\w.+\-@] | (?<= (?i:www) \. ) )
      | ' ['’\-_]*+ {LETTER}
      | ['´^] [:;=8]
    )
"""

# Performance shortcut like FAST_WORD: a symbol that starts no longer token, or a full stop
# that starts neither an ellipsis nor an e-mail address. Runs of symbols are already cut to
# three by then, and a following emoji modifier or joiner would start an emoji sequence.
FAST_SYMBOL = rf"""
    (?: [,!?"“”‘’…&$%] | \. (?! [^\S\r\n]*+ \. | [\w.+\-]{{0,63}}+ @ ) )
    (?! [\u200d{_EMOJI_MODIFIER_CHARS}] )
"""

# Characters that may sit inside a URL but never end one: a URL followed by a full stop or a
# closing quote keeps the stop or quote out. "…" is here because Twitter cuts long retweets
# with it, right after a truncated link.
_URL_TAIL_PUNCT = r"""`!;:'".,?«»“”‘’…"""

URL = rf"""
    (?i:
        (?= [a-z0-9\-] )                     # cheap rejection of most other tokens
        (?:
            (?: https? | ftp ) : (?: /{{1,3}} | [a-z0-9%] )    # scheme, then slashes or host
          | www\d{{0,3}} \.                                   # www. and www2.
          | (?: [a-z0-9\-]{{1,63}}+ \. ){{1,10}}+ [a-z]{{2,13}} /   # host.tld/ with a path
        )
        (?:                                   # the rest, ending on a character that can end it:
            [{_URL_TAIL_PUNCT}]*+             #   punctuation that cannot end a URL,
            (?:
                [^\s()<>{{}}\[\]{_URL_TAIL_PUNCT}]++   #   then a run that can,
              | \( (?: [^\s()]{{0,255}}+ | \( [^\s()]{{0,255}}+ \) )*+ \)  #   or (...) nested once
            )
        )++
      |
        # A bare domain needs a common top-level domain, so "end.Next" and "it.thanks" (a missing
        # space after a full stop) stay words.
        (?<! @ )
        (?: [a-z0-9] [a-z0-9\-]{{0,62}}+ \. ){{1,10}}+
        (?: com | org | net | edu | gov | info | biz | io | co | uk | us | ca | au | in | pk
          | de | fr | es | it | nl | ru | jp | cn | br | tv | me | ly | gl | news | app )
        \b /? (?! @ )
    )
"""

# North American style numbers such as 555-123-4567 or +1 (800) 555 1234. The digit
# boundaries keep the pattern from cutting 11 digits out of a longer run of digits.
PHONE = r"""
    (?= [+(\d] ) (?<! \d )
    (?: \+? [01] [\ *\-.)]{0,3}+ )?        # optional country code 0 or 1
    (?: \(? \d{3} [\ *\-.)]{0,3}+ )?       # optional area code, maybe in brackets
    \d{3} [\ *\-.)]{0,3}+ \d{4}            # exchange and line number
    (?! \d )
"""

# Numbers with separators: 3.5, 1,000,000, 2015-08-07, 10:30, 1/2. Placed before emoticons
# so the "8:" in "8:30" is not read as eyes and a mouth.
NUMBER = r"""
    [+\-]? \d++ (?: [,/.:\-] \d++ )++ [+\-]?
"""

# Placed before emoticons so that "@8tracks" is a handle and not the emoticon "@8".
MENTION = rf"""
    @ {WORD_CHAR}++
"""

EMOTICON = r"""
    (?i:
        [<>]? [:;=8] [\-o*'´^]? [)\](\[dp/:}{@|\\]      # eyes, nose, mouth: :-) ;P =D >:( :'(
      | [)\](\[dp/:}{@|\\] [\-o*'´^]? [:;=8] [<>]?      # the same facing left: (-: D: ):
      | </?3                                           # heart and broken heart
      | \^ [_\-.]? \^                                  # ^^ ^_^ ^-^ ^.^
      | - _+ - | > _+ <                                # -_- >_<
    )
"""

# Angle-bracket tags such as "<url>" stay whole, so cleaned text can be tokenized again.
HTML_TAG = r"""
    < [^>\s]++ >
"""

ARROW = r"""
    -++ > | < -++
"""

# A hashtag needs at least two word characters, so "#1" stays "#", "1" as in NLTK.
HASHTAG = rf"""
    \#++ {WORD_CHAR} (?: ['’\-]*+ {WORD_CHAR}++ )++
"""

EMAIL = r"""
    [\w.+\-]{1,64}+ @ [\w\-]{1,63}+ (?: \. [\w\-]{1,63}+ )++
"""

# One emoji with its modifiers, or several joined by U+200D (ZWJ), such as 🤷‍♀️ or 👨‍👩‍👧.
EMOJI_SEQUENCE = rf"""
    \S (?:
        {EMOJI_MODIFIER}++ (?: \u200d \S {EMOJI_MODIFIER}*+ )*+
      | (?: \u200d \S {EMOJI_MODIFIER}*+ )++
    )
"""

# Pairs of regional indicators (🇮🇳) and tag sequences (the flags of England, Scotland, Wales).
FLAG = r"""
    [\U0001F1E6-\U0001F1FF]{2}
  | \U0001F3F4 [\U000E0020-\U000E007E]++ \U000E007F
"""

# Words with inner apostrophes, hyphens or underscores: don't, I'm, rock-n-roll, don’t.
# At least three characters, beginning and ending with a letter.
WORD_WITH_INNER = rf"""
    {LETTER} (?: {LETTER} | ['’\-_] )+ {LETTER}
"""

PLAIN_WORD = rf"""
    {WORD_CHAR}++
"""

# "..." and ". . ." as one token, not crossing a line break.
ELLIPSIS = r"""
    \. (?: [^\S\r\n]*+ \. )++
"""

OTHER = r"""
    \S
"""

# Order matters because alternation takes the first pattern that matches at a position, not
# the longest. URLs come before everything that would split them at ":" or "/". Phone numbers
# and numbers come before emoticons (8:30) and words, and mentions before emoticons (@8).
# Emoticons come before tags and arrows (<3, <-), and each word pattern before the looser one
# after it. FAST_WORD and FAST_SYMBOL go first only because they cannot change the result.
TOKEN_PATTERNS = (
    FAST_WORD,
    FAST_SYMBOL,
    URL,
    PHONE,
    NUMBER,
    MENTION,
    EMOTICON,
    HTML_TAG,
    ARROW,
    HASHTAG,
    EMAIL,
    EMOJI_SEQUENCE,
    FLAG,
    WORD_WITH_INNER,
    PLAIN_WORD,
    ELLIPSIS,
    OTHER,
)

# The leading \s*+ skips whitespace inside the match, which is much faster than letting
# findall try every pattern at every space. The single group makes findall return only the
# token. Callers strip trailing whitespace first, because otherwise each trailing space would
# start a failed match that rescans to the end (quadratic on long blank tails).
TOKEN_RE = re.compile(
    r"\s*+(" + "|".join(f"(?:{pattern})" for pattern in TOKEN_PATTERNS) + ")",
    re.VERBOSE,
)

URL_RE = re.compile(URL, re.VERBOSE)
EMOTICON_RE = re.compile(EMOTICON, re.VERBOSE)

# NLTK's TweetTokenizer cuts every run of four or more identical characters that are not
# letters or digits (whitespace and emoji included) to three before it tokenizes
# ("!!!!!" -> "!!!").
REPEATED_SYMBOL_RE = re.compile(r"(\W|_)\1{3,}")

# Runs of four or more of one letter, the lengthening that reduce_len cuts to three.
REPEATED_LETTER_RE = re.compile(r"([^\W\d_])\1{3,}")

# Cheap test run on every tweet: any character four times in a row. Only the few tweets that
# pass it pay for the two substitutions above (about 5% of SemEval tweets).
RUN_OF_FOUR_RE = re.compile(r"(.)\1\1\1", re.DOTALL)

# HTML character references with their semicolon. Named references without one ("&amp",
# "&not") are left alone, because in tweets "&not" is more likely text than an entity.
ENTITY_RE = re.compile(r"&(?:\#[0-9]{1,8}|\#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});")

# A @handle as Twitter writes it: not preceded by a word character, so e-mail addresses keep
# their local part.
HANDLE_RE = re.compile(r"(?<![\w@])@\w+")

WHITESPACE_RE = re.compile(r"\s+")

# A retweet starts with "RT @handle", possibly after quotes or spaces ("\"RT @x: ...").
RETWEET_RE = re.compile(r"""[\s"'“”‘’]*RT\s*:?\s*@\w""", re.IGNORECASE)

# Applied by clean to the tokens of one tweet, each after a line break (a token never contains
# one), so the few tokens that need Python code are found in one C-level pass. A match starts
# with the line break, not ``^`` in multi-line mode, so the regex engine jumps from line to
# line. The "url" and "caps" groups find cheap candidates that _replace_special checks
# exactly: a URL token has a ".", ":" or "/" after its first character, and an all-caps word
# starts with a capital and has no lower-case letter.
SPECIAL_TOKEN_RE = re.compile(
    rf"""
    \n (?:
        (?P<mention> @ (?! [\-*'´^:;=] ) [^\n]+ )      # "@:" and "@-:" are emoticons
      | (?P<hashtag> \# [^\n]+ )
      | (?P<url> [^\n.:/]++ [.:/] [^\n]* )
      | (?P<caps> [{_UPPER}] [^\n{_LOWER}]*? [{_UPPER}] [^\n{_LOWER}]* (?= \n ) )
    )
    """,
    re.VERBOSE,
)

# --------------------------------------------------------------------------------------------
# Emoticons used to label NLTK twitter_samples
# --------------------------------------------------------------------------------------------

# The positive and negative halves of NLTK's twitter_samples were collected by searching for
# happy and sad emoticons, so removing these keeps a model from learning the label from the
# search term. The sets hold the emoticons found in those tweets (all but 4 of the 5,000
# positive and 5 of the 5,000 negative tweets contain one as a token), plus spelling variants
# such as "=)", ":-P" and ":[" that happen to be absent there. ": )" and ": (" are two
# tokens, which clean removes as a pair.
POSITIVE_EMOTICONS: frozenset[str] = frozenset(
    {
        ":)",
        ":-)",
        ": )",
        ":]",
        "=)",
        "=]",
        ":D",
        ":-D",
        "=D",
        ":d",
        ":p",
        ":P",
        ":-p",
        ":-P",
        ";)",
        ";-)",
        ";D",
        ";p",
        ";P",
        ">:)",
        ">:D",
        ":')",
        "(:",
        "(-:",
    }
)
NEGATIVE_EMOTICONS: frozenset[str] = frozenset(
    {
        ":(",
        ":-(",
        ": (",
        ":[",
        "=(",
        ">:(",
        ">:-(",
        ":'(",
        ":´(",
        ";(",
        "):",
        ")-:",
        "D:",
    }
)
LABEL_EMOTICONS: frozenset[str] = POSITIVE_EMOTICONS | NEGATIVE_EMOTICONS


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
    pass runs once per chunk instead of once per tweet. No token can contain a line break, so
    the NUL between two line breaks always comes out as a token of its own and tells where
    one tweet's tokens end. Tweets that contain a NUL themselves are cleaned one by one.
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
    if not texts or any("\0" in item for item in options.strip_emoticons):
        return None
    joined = _SEPARATOR.join(texts)
    if joined.count("\0") != len(texts) - 1:
        return None
    lines = _clean_joined(joined, options)
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


# Between two tweets of a chunk. A NUL can only be a token of its own (see clean_chunk).
_SEPARATOR = "\n\0\n"

# Two or more line breaks: where clean dropped a token.
_BLANK_LINES_RE = re.compile(r"\n\n+")


def _clean_joined(text: str, options: CleanOptions) -> str:
    """Clean tweets joined by ``_SEPARATOR``: the steps of ``clean`` on the whole chunk.

    Returns the tokens one per line, with the NUL lines between tweets kept and no empty
    lines, as :func:`clean_chunk_lines` describes.
    """
    if "&" in text:
        text = ENTITY_RE.sub(_replace_entity, text)
    if "’" in text:
        text = text.replace("’", "'")
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


def _cut_lengthened_lines(joined: str, letter_runs: set[str], options: CleanOptions) -> str:
    """Apply ``_cut_lengthening`` to the tokens, written one per line in ``joined``, that
    contain one of ``letter_runs``.

    Tokens are parts of the text in which the runs were found, so a token with a letter run
    contains one of them. ``str.find`` looks for each of the few runs much faster than a
    regex can scan the whole chunk for runs.
    """
    line_starts: set[int] = set()
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
