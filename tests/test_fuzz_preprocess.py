"""Property-based tests of cleaning: any text in, a list of tokens out.

``preprocess.clean`` and ``clean_chunk`` take arbitrary Unicode, lone surrogates, NUL and other
control characters, and lines of a megabyte, and must return tokens without raising. Text that
the readers let through (no lone surrogates) must give tokens that can be written as UTF-8
JSON, since ``seatcast preprocess`` writes them so. Each entry point gets 1,000 cases.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seatcast.corpus import clean_to_jsonl
from seatcast.preprocess import (
    LABEL_EMOTICONS,
    CleanOptions,
    clean,
    clean_chunk,
    clean_chunk_lines,
    split_token_lines,
)

from .strategies import clean_options

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MIB = 1024 * 1024

# Pieces of real tweets and of broken ones, mixed into arbitrary text.
PIECES = [
    "@user",
    "#Hashtag",
    "http://t.co/x",
    "https://example.com/a?b=c",
    "www.x.org",
    ":)",
    ":-(",
    "<3",
    "&amp;",
    "&lt;",
    "&#128512;",
    "&bogus;",
    "’",
    "coooool",
    "!!!!",
    "LOUD",
    "RT ",
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x1b",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\U0001f600",
    "\U0001f1ee\U0001f1f3",
    "e\u0301",
    "\ud800",
    "\udcff",
    "\\u00e9",
    "Ã©",
    " ",
    "",
    "'",
    '"',
    "\\",
    "\\n",
    "\\u0000",
    "%",
    "%d",
]


def mixed(characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text of arbitrary runs of ``characters`` with PIECES mixed in."""
    runs = st.one_of(st.text(alphabet=characters, max_size=12), st.sampled_from(PIECES))
    return st.lists(runs, max_size=8).map("".join)


any_text = mixed(st.characters(exclude_categories=()))
readable_text = mixed(st.characters(exclude_categories=("Cs",))).map(
    lambda text: "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
)

options = clean_options([frozenset(), LABEL_EMOTICONS])


def check_tokens(tokens: list[str]) -> None:
    """Tokens are non-empty strings without line breaks (they are joined on \\n inside)."""
    assert isinstance(tokens, list)
    for token in tokens:
        assert isinstance(token, str)
        assert token
        assert "\n" not in token


@FUZZ
@given(text=any_text, settings_=options)
@example(text="x" * MIB, settings_=CleanOptions())
@example(text=("ha" * 10 + " ") * (MIB // 21), settings_=CleanOptions())
@example(text="\x00" * 1000, settings_=CleanOptions())
@example(text="\ud800\udc00\udfff", settings_=CleanOptions())
def test_clean_any_text(text, settings_):
    tokens = clean(text, settings_)
    check_tokens(tokens)
    assert clean(text, settings_) == tokens


@FUZZ
@given(text=readable_text, settings_=options)
def test_clean_tokens_write_as_utf8_json(text, settings_):
    tokens = clean(text, settings_)
    check_tokens(tokens)
    line = json.dumps({"line": 1, "tokens": tokens}, ensure_ascii=False)
    assert json.loads(line.encode("utf-8").decode("utf-8"))["tokens"] == tokens


@FUZZ
@given(text=readable_text)
def test_clean_lowercases_letters(text):
    tokens = clean(text, CleanOptions(lowercase=True, mark_allcaps=False))
    # No upper-case letter survives, whatever the script.
    assert not any(char.isupper() and char.lower() != char for token in tokens for char in token)


@FUZZ
@given(texts=st.lists(any_text, max_size=20), settings_=options)
def test_clean_chunk_matches_clean(texts, settings_):
    chunk = clean_chunk(texts, settings_)
    assert len(chunk) == len(texts)
    assert chunk == [clean(text, settings_) for text in texts]
    for tokens in chunk:
        check_tokens(tokens)


@FUZZ
@given(texts=st.lists(any_text, max_size=20), settings_=options)
def test_clean_chunk_lines_splits_into_clean_chunk(texts, settings_):
    lines = clean_chunk_lines(texts, settings_)
    if not texts or any("\x00" in text for text in texts):
        assert lines is None
        return
    assert lines is not None
    assert split_token_lines(lines) == clean_chunk(texts, settings_)


@FUZZ
@given(texts=st.lists(readable_text, max_size=20), settings_=options)
# Tweets left without tokens first, last, side by side and alone.
@example(texts=["@a", "x", "@b", "@c", "y \\n", "@d"], settings_=CleanOptions(mentions="remove"))
@example(texts=["@a", "@b"], settings_=CleanOptions(mentions="remove"))
@example(texts=["@a"], settings_=CleanOptions(mentions="remove"))
def test_jsonl_chunks_equal_json_dumps(texts, settings_):
    line_numbers = list(range(2, 2 + 3 * len(texts), 3))
    written, payload = clean_to_jsonl((line_numbers, texts), settings_)
    expected = "".join(
        json.dumps({"line": number, "tokens": clean(text, settings_)}, ensure_ascii=False) + "\n"
        for number, text in zip(line_numbers, texts, strict=True)
    )
    assert written == len(texts)
    assert payload == expected.encode("utf-8")
