"""The regular expressions and emoticon sets that seatcast's tokenizer is built from.

Nothing here runs at call time: the module builds its character classes, compiles its
patterns once at import and keeps no state after that. :mod:`seatcast.preprocess` uses
them to tokenize and clean tweets, and re-exports the public names.

``TOKEN_PATTERNS`` is the ordered tuple of named, commented parts that ``TOKEN_RE`` joins
into one alternation. ``docs/tokenizer.md`` lists where the result differs from NLTK's
``TweetTokenizer`` on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "EMOJI_MODIFIER",
    "EMOTICON_RE",
    "ENTITY_RE",
    "FAST_SYMBOL",
    "FAST_WORD",
    "HANDLE_RE",
    "LABEL_EMOTICONS",
    "LETTER",
    "NEGATIVE_EMOTICONS",
    "POSITIVE_EMOTICONS",
    "REPEATED_LETTER_RE",
    "REPEATED_SYMBOL_RE",
    "RETWEET_RE",
    "RUN_OF_FOUR_RE",
    "SPECIAL_TOKEN_RE",
    "TOKEN_PATTERNS",
    "TOKEN_RE",
    "URL_RE",
    "WHITESPACE_RE",
    "WORD_CHAR",
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
