"""Attributing tweets to parties.

A tweet is attributed to a party by the file it came from (a corpus source with ``party``
set), by a column that names the party of each row (``party_column``), or by the signs listed
for the party: hashtags (``#YSRCP``), handles (``@ysjagan``) and keywords or aliases
(``Jagan``, ``जगन``). The rules are:

* Signs match case-insensitively, after NFC normalisation of both the sign and the tweet, so
  a Devanagari or Telugu keyword matches whether its vowel signs were typed precomposed or not.
* Every sign matches as a whole word. A word character is Python's ``\\w`` plus Unicode
  combining marks and the zero-width joiners, so ``मोद`` does not match inside ``मोदी`` (whose
  last character, a vowel sign, is not ``\\w`` for Python).
* ``#BJP`` matches ``#bjp`` but not ``#BJP4India``; ``@INCIndia`` matches only that handle.
* A keyword does not match inside a hashtag or a handle: ``Modi`` matches "Modi rally" but not
  ``#Modi`` or ``@Modi``. List the hashtag as well to count both.
* The words of a keyword of several words may be separated by any run of white space.

A tweet that names several parties is counted for each of them, or dropped, by
``attribution.multi_party``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from seatcast.config import PartySpec
from seatcast.errors import ConfigError
from seatcast.preprocess import WORD_CHAR

__all__ = ["ATTRIBUTION_OUTCOMES", "PartyMatcher"]

# Outcomes of `PartyMatcher.classify` for one tweet.
ATTRIBUTION_OUTCOMES = ("matched", "multiple_counted", "multiple_dropped", "unmatched")

# A sign starts where no word character, # or @ comes before it, so that a keyword never
# matches the inside of a hashtag or a handle, and ends where no word character follows.
_SIGN_START = rf"(?<![#@])(?<!{WORD_CHAR})"
_SIGN_END = rf"(?!{WORD_CHAR})"


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _keyword_pattern(word: str) -> str:
    parts = [re.escape(part) for part in _normalise(word).split()]
    return r"\s+".join(parts)


def _sign_pattern(party: PartySpec) -> re.Pattern[str] | None:
    alternatives: list[str] = []
    for tag in party.hashtags:
        body = _normalise(tag.strip().lstrip("#"))
        if body:
            alternatives.append("#" + re.escape(body))
    for handle in party.handles:
        body = _normalise(handle.strip().lstrip("@"))
        if body:
            alternatives.append("@" + re.escape(body))
    for word in (*party.keywords, *party.aliases):
        if word.strip():
            alternatives.append(_keyword_pattern(word))
    if not alternatives:
        return None
    # Longer signs first, so that "Jana Sena" is tried before "Jana" inside one alternation.
    alternatives.sort(key=len, reverse=True)
    return re.compile(_SIGN_START + "(?:" + "|".join(alternatives) + ")" + _SIGN_END, re.IGNORECASE)


class PartyMatcher:
    """Match tweets to parties by source file or column, by signs in the text, or both.

    Parameters
    ----------
    parties : sequence of PartySpec
        The parties and their signs.
    by : {'source', 'keywords', 'both'}, default='source'
        ``source`` uses only the party given by the corpus file or its party column;
        ``keywords`` only the signs in the text; ``both`` takes the union.
    multi_party : {'each', 'drop'}, default='each'
        What to do with a tweet that matches several parties: count it once for each, or
        leave it out.

    Raises
    ------
    ConfigError
        If ``by`` or ``multi_party`` is not one of the allowed values, or ``by`` uses
        keywords and no party lists any hashtag, handle, keyword or alias.
    """

    def __init__(
        self, parties: Sequence[PartySpec], *, by: str = "source", multi_party: str = "each"
    ):
        if by not in ("source", "keywords", "both"):
            raise ConfigError(f"`attribution.by` must be source, keywords or both; got {by!r}")
        if multi_party not in ("each", "drop"):
            raise ConfigError(
                f"`attribution.multi_party` must be each or drop; got {multi_party!r}"
            )
        self.names = [party.name for party in parties]
        self.by = by
        self.multi_party = multi_party
        self._patterns = [(party.name, _sign_pattern(party)) for party in parties]
        if by != "source" and all(pattern is None for _, pattern in self._patterns):
            raise ConfigError(
                f"`attribution.by` is {by!r}, but no party lists hashtags, handles, keywords or "
                "aliases; add some to `parties` or set `attribution.by: source`"
            )
        # Party names and aliases, case-folded, for the values of a party column.
        self._column_values: dict[str, str] = {}
        for party in parties:
            for value in (party.name, *party.aliases):
                self._column_values.setdefault(_normalise(value).strip().casefold(), party.name)

    def party_for_value(self, value: str) -> str | None:
        """Return the party that a party-column value names, or ``None``.

        A value names a party when it equals the party's name or one of its aliases, ignoring
        case and surrounding spaces.
        """
        return self._column_values.get(_normalise(value).strip().casefold())

    def match(self, text: str, source_party: str | None = None) -> list[str]:
        """Return the parties a tweet is attributed to, in config order.

        An empty list means no party matched, or several did and ``multi_party`` is
        ``drop``. :meth:`classify` distinguishes the two.
        """
        found, _ = self.classify(text, source_party)
        return found

    def classify(self, text: str, source_party: str | None = None) -> tuple[list[str], str]:
        """Return the matched parties and the outcome, one of :data:`ATTRIBUTION_OUTCOMES`.

        ``matched`` is one party; ``multiple_counted`` several parties, all returned;
        ``multiple_dropped`` several parties, none returned because ``multi_party`` is
        ``drop``; ``unmatched`` none.
        """
        matched: set[str] = set()
        if self.by in ("source", "both") and source_party is not None:
            matched.add(source_party)
        if self.by in ("keywords", "both"):
            normalised = _normalise(text)
            for name, pattern in self._patterns:
                if pattern is not None and pattern.search(normalised):
                    matched.add(name)
        if not matched:
            return [], "unmatched"
        if len(matched) > 1:
            if self.multi_party == "drop":
                return [], "multiple_dropped"
            return [name for name in self.names if name in matched], "multiple_counted"
        return [name for name in self.names if name in matched], "matched"
