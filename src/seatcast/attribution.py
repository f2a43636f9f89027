"""Attributing tweets to parties.

A tweet is attributed to a party by the file it came from (a corpus source with ``party``
set), or by the signs listed for the party: hashtags (``#YSRCP``), handles (``@ysjagan``) and
keywords or aliases (``Jagan``). Signs match whole words, case-insensitively, with Unicode
word boundaries, so ``#BJP`` matches ``#bjp`` but not ``#BJP4India``, and ``Modi`` does not
match ``Modiji``. A tweet that names several parties is counted for each of them, or dropped,
by ``attribution.multi_party``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from seatcast.config import PartySpec

__all__ = ["PartyMatcher"]


def _sign_pattern(party: PartySpec) -> re.Pattern[str] | None:
    alternatives: list[str] = []
    for tag in party.hashtags:
        alternatives.append("#" + re.escape(tag.lstrip("#")))
    for handle in party.handles:
        alternatives.append("@" + re.escape(handle.lstrip("@")))
    for word in (*party.keywords, *party.aliases):
        alternatives.append(re.escape(word.strip()))
    alternatives = [item for item in alternatives if item not in ("#", "@", "")]
    if not alternatives:
        return None
    # Longest first, so that "Jana Sena" wins over "Jana" inside one alternation.
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<![\w#@])(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


class PartyMatcher:
    """Match tweets to parties by source file, by signs in the text, or both.

    Parameters
    ----------
    parties : sequence of PartySpec
        The parties and their signs.
    by : {'source', 'keywords', 'both'}, default='source'
        ``source`` uses only the corpus file's ``party``; ``keywords`` only the signs in the
        text; ``both`` takes the union.
    multi_party : {'each', 'drop'}, default='each'
        What to do with a tweet that matches several parties.
    """

    def __init__(
        self, parties: Sequence[PartySpec], *, by: str = "source", multi_party: str = "each"
    ):
        self.names = [party.name for party in parties]
        self.by = by
        self.multi_party = multi_party
        self._patterns = [(party.name, _sign_pattern(party)) for party in parties]

    def match(self, text: str, source_party: str | None = None) -> list[str]:
        """Return the parties a tweet is attributed to, in config order.

        An empty list means no party matched, or several did and ``multi_party`` is
        ``drop``; :meth:`classify` tells these apart.
        """
        found, _ = self.classify(text, source_party)
        return found

    def classify(self, text: str, source_party: str | None = None) -> tuple[list[str], str]:
        """Return the matched parties and the outcome: ``matched``, ``unmatched`` or
        ``multiple`` (several parties, dropped)."""
        matched: set[str] = set()
        if self.by in ("source", "both") and source_party is not None:
            matched.add(source_party)
        if self.by in ("keywords", "both"):
            for name, pattern in self._patterns:
                if pattern is not None and pattern.search(text):
                    matched.add(name)
        if not matched:
            return [], "unmatched"
        if len(matched) > 1 and self.multi_party == "drop":
            return [], "multiple"
        return [name for name in self.names if name in matched], "matched"
