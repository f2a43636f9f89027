"""Tests for seatcast.units: cleaning a chunk unit by unit gives what cleaning it whole gives.

The unit cache is only a shortcut, so every test compares it with ``preprocess.clean`` run on
one tweet at a time, which never uses it.
"""

from __future__ import annotations

import csv
import gzip
import json
import threading

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seatcast.corpus import clean_to_jsonl
from seatcast.preprocess import (
    CleanOptions,
    clean,
    clean_chunk,
    clean_chunk_lines,
    clean_units,
    join_for_units,
    split_token_lines,
)
from seatcast.units import MAX_CACHES, UNIT_RE, UnitCache, cache_for, clear_caches

from .conftest import DATA, semeval_lines
from .strategies import clean_options

FUZZ = settings(
    max_examples=600,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Characters around the gaps that a token can cross (phone numbers, spaced ellipses), and
# entities that turn into whitespace, mixed with ordinary tweet text.
HAZARDS = [
    "5",
    "55",
    "555",
    "1234",
    "+1",
    "(",
    ")",
    "(800)",
    "*",
    "-",
    ".",
    ". .",
    "..",
    " ",
    "  ",
    "    ",
    "\t",
    "\r\n",
    "\n",
    "\xa0",
    "\u3000",
    "&nbsp;",
    "&#32;",
    "&#10;",
    "&amp;",
    "a",
    "Word",
    "LOUD",
    "sooooo",
    "@user",
    "#tag",
    "http://t.co/x",
    "www.x.org",
    ":)",
    ": )",
    "\x01",
    "\x1c",
    "\U0001f600",
    "’",
]

hazard_text = st.lists(st.sampled_from(HAZARDS), max_size=12).map("".join)

# Options that clean unit by unit: every choice except dropping pairs of tokens.
unit_options = clean_options([frozenset(), frozenset({":)", "LOUD"})])


def real_tweets(count: int) -> list[str]:
    """Real tweets: SemEval lines and Indian election tweets with their line breaks."""
    tweets = [line.split("\t", 2)[2] for line in semeval_lines("twitter-2016train-A.txt.gz", count)]
    path = DATA / "india2019" / "2019_congress.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        tweets.extend(row["tweets"] for row, _ in zip(reader, range(count), strict=False))
    return tweets


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("call 555 123 4567 now", ["call", "555 123 4567", "now"]),
        ("+1 (800) 555-1234 x", ["+1 (800) 555-1234", "x"]),
        ("wait . . . what", ["wait", ". . .", "what"]),
        ("end. Next", ["end.", "Next"]),
        ("5\n5", ["5", "5"]),
        ("5 \r\n 5", ["5", "5"]),
        ("a - b", ["a", "-", "b"]),
        ("x -- 5", ["x", "-- 5"]),
        ("", []),
    ],
)
def test_units_keep_gaps_that_a_token_can_cross(text, units):
    assert UNIT_RE.findall(text) == units


def test_real_tweets_clean_the_same_unit_by_unit():
    tweets = real_tweets(1500)
    options = CleanOptions()
    expected = [clean(tweet, options) for tweet in tweets]
    # Twice: first with a cold cache, then with every unit known.
    for _ in range(2):
        lines = clean_chunk_lines(tweets, options)
        assert lines is not None
        assert split_token_lines(lines) == expected


@FUZZ
@given(texts=st.lists(hazard_text, min_size=1, max_size=12), settings_=unit_options)
@example(texts=["call 555 123 4567", "555 1234", ". . ."], settings_=CleanOptions())
@example(texts=["5&nbsp;5", "5&#32;5 . &#32;."], settings_=CleanOptions())
@example(texts=["a\x01b", "\x01", "@user \x01"], settings_=CleanOptions())
def test_units_clean_like_whole_tweets(texts, settings_):
    assert clean_chunk(texts, settings_) == [clean(text, settings_) for text in texts]


@FUZZ
@given(texts=st.lists(hazard_text, min_size=1, max_size=12), settings_=unit_options)
def test_units_write_the_json_lines_of_json_dumps(texts, settings_):
    numbers = list(range(10, 10 + len(texts)))
    written, payload = clean_to_jsonl((numbers, texts), settings_)
    expected = "".join(
        json.dumps({"line": number, "tokens": clean(text, settings_)}, ensure_ascii=False) + "\n"
        for number, text in zip(numbers, texts, strict=True)
    )
    assert written == len(texts)
    assert payload == expected.encode("utf-8")


def test_token_pairs_clean_whole_chunk():
    options = CleanOptions(strip_emoticons=frozenset({": )"}))
    assert join_for_units(["great : ) day"], options) is None
    # The whole-chunk path still drops the pair.
    assert clean_chunk(["great : ) day"], options) == [["great", "day"]]


def test_clean_units_separates_units_by_nul_lines():
    lines = clean_units(["Hello,", "@someone", "ok"], CleanOptions())
    assert lines.split("\n\x00\n") == ["hello\n,", "@user", "ok"]


def cleaned_by_whole_text(units: list[str]) -> list[str]:
    return [part.strip("\n") for part in clean_units(units, CleanOptions()).split("\x00")]


def test_cache_stays_within_limit():
    tweets = real_tweets(400)
    text = "\n\x00\n".join(tweets)
    unbounded = UnitCache(cleaned_by_whole_text, limit=10**9, fixed={"\x00": "\x00"})
    bounded = UnitCache(cleaned_by_whole_text, limit=50, fixed={"\x00": "\x00"})
    expected = unbounded.join(text)
    for start in range(0, len(tweets), 20):
        piece = "\n\x00\n".join(tweets[start : start + 20])
        assert bounded.join(piece) == unbounded.join(piece)
        assert len(bounded) <= 50 + len(UNIT_RE.findall(piece))
    assert "\x00" in bounded  # the fixed unit survives clearing
    assert bounded.join(text) == expected


def test_cache_skips_long_units():
    cache = UnitCache(cleaned_by_whole_text, limit=100, max_length=10)
    link = "https://example.com/" + "a" * 40
    assert cache.join(f"see {link} now") == "see\n<url>\nnow"
    assert link not in cache
    assert "see" in cache


def test_cache_joins_again_when_text_has_mark():
    cache = UnitCache(cleaned_by_whole_text, limit=100)
    text = "a\x01b new \x01"
    assert cache.join(text) == cache.join(text)
    assert cache.join(text).split("\n") == clean(text)


def test_cache_joins_bytes_forms():
    cache = UnitCache(lambda units: [unit.upper().encode() for unit in units], 10, joiner=b"|")
    assert cache.join("ab cd ab") == b"AB|CD|AB"


def test_each_thread_gets_its_own_cache():
    tweets = real_tweets(300)
    options = CleanOptions()
    expected = [clean(tweet, options) for tweet in tweets]
    results: dict[int, list[list[str]]] = {}
    # The caches themselves, so that none is freed and its id reused before the check.
    seen: dict[int, UnitCache] = {}

    def work(index: int) -> None:
        results[index] = clean_chunk(tweets[index::4] + tweets, options)
        seen[index] = cache_for(("lines", options), lambda: None)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(4):
        assert results[index] == expected[index::4] + expected
    assert len({id(cache) for cache in seen.values()}) == 4
    assert all(isinstance(cache, UnitCache) for cache in seen.values())


def test_cache_clears_at_character_budget():
    cache = UnitCache(cleaned_by_whole_text, limit=10**6, max_characters=200)
    # Distinct seven-letter words: 14 characters of unit and form each.
    words = ["word" + chr(97 + index // 26) + chr(97 + index % 26) + "s" for index in range(100)]
    for start in range(0, 100, 10):
        text = " ".join(words[start : start + 10])
        assert cache.join(text).split("\n") == clean(text)
        # Cleared at the start of a call once past 200 characters: 14 kept words at most,
        # plus the 10 of the call.
        assert len(cache) <= 200 // 14 + 1 + 10


def test_thread_keeps_few_caches():
    clear_caches()
    built = []
    for index in range(MAX_CACHES + 3):
        cache_for(("test", index), lambda: built.append(1) or UnitCache(cleaned_by_whole_text, 10))
    # The least recently used ones were dropped, so asking again builds a new cache.
    cache_for(("test", 0), lambda: built.append(1) or UnitCache(cleaned_by_whole_text, 10))
    assert len(built) == MAX_CACHES + 4
    cache_for(
        ("test", MAX_CACHES + 2), lambda: built.append(1) or UnitCache(cleaned_by_whole_text, 10)
    )
    assert len(built) == MAX_CACHES + 4
    clear_caches()


def test_many_letter_runs_clean_like_whole_tweets():
    # Ten distinct runs of four CJK letters a tweet: hundreds of runs in one chunk.
    texts = [
        " ".join(chr(0x4E00 + (index * 10 + k) % 5000) * 4 + f"x{index}" for k in range(10))
        for index in range(300)
    ]
    options = CleanOptions()
    assert clean_chunk(texts, options) == [clean(text, options) for text in texts]
    assert "<elong>" in clean_chunk(texts[:1], options)[0]


def counting(calls: list[list[str]]):
    """Return a cleaning function that records the units it is asked to clean."""

    def clean_many(units: list[str]) -> list[str]:
        calls.append(list(units))
        return cleaned_by_whole_text(units)

    return clean_many


def test_cache_records_only_while_asked():
    cache = UnitCache(cleaned_by_whole_text, limit=100, max_length=10)
    cache.join("quiet words")
    assert cache.take_learned() == []
    cache.record(True)
    cache.join("Hello again, https://example.com/long-link quiet")
    # The known unit and the long one, which the cache does not keep, are not recorded.
    assert cache.take_learned() == [("Hello", "hello"), ("again,", "again\n,")]
    assert cache.take_learned() == []
    cache.record(False)
    cache.join("more")
    assert cache.take_learned() == []


def test_learned_units_are_not_cleaned_again_nor_passed_back():
    first_calls: list[list[str]] = []
    second_calls: list[list[str]] = []
    first = UnitCache(counting(first_calls), limit=100)
    second = UnitCache(counting(second_calls), limit=100)
    first.record(True)
    second.record(True)
    text = "So good :) #win @someone"
    expected = first.join(text)
    second.learn(first.take_learned())
    assert second.join(text) == expected
    assert second_calls == []
    assert second.take_learned() == []
    # A unit known to both keeps its form, and a new one is cleaned as usual.
    second.learn([("So", "so"), ("new", "new")])
    assert second.join("So new lol") == "so\nnew\nlol"
    assert second_calls == [["lol"]]


def test_learned_units_count_toward_character_budget():
    cache = UnitCache(cleaned_by_whole_text, limit=10**6, max_characters=100)
    # Seven-letter words: 14 characters of unit and form each.
    words = [f"word{index:03d}" for index in range(10)]
    cache.learn([(word, word) for word in words[:5]])
    assert len(cache) == 5
    cache.learn([(word, word) for word in words[5:]])
    assert len(cache) == 0
    cache.join("fresh")
    assert len(cache) == 1


def test_learning_past_limit_empties_cache():
    cache = UnitCache(cleaned_by_whole_text, limit=10, fixed={"\x00": "\x00"})
    cache.learn([(f"word{index}", f"word{index}") for index in range(8)])
    assert len(cache) == 9
    # Another process's units alone push it past the limit, with no join in between.
    cache.learn([(f"more{index}", f"more{index}") for index in range(8)])
    assert len(cache) == 1
    assert "\x00" in cache
