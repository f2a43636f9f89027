"""Hypothesis strategies shared by the cleaning tests."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from seatcast.preprocess import CleanOptions


def clean_options(strip_emoticons: Iterable[frozenset[str]]) -> st.SearchStrategy[CleanOptions]:
    """Return a strategy of CleanOptions that draws every choice, with ``strip_emoticons``
    drawn from the given sets."""
    return st.builds(
        CleanOptions,
        lowercase=st.booleans(),
        reduce_len=st.booleans(),
        urls=st.sampled_from(["token", "remove", "keep"]),
        mentions=st.sampled_from(["token", "remove", "keep"]),
        hashtags=st.sampled_from(["keep", "strip", "remove"]),
        mark_elongation=st.booleans(),
        mark_allcaps=st.booleans(),
        strip_emoticons=st.sampled_from(list(strip_emoticons)),
    )
