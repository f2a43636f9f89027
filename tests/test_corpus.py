"""preprocess_file: formats, order, line numbers, streaming, failures and atomic output."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os

import pytest

from seatcast import corpus
from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.corpus import SharedUnits, clean_to_jsonl, preprocess_file
from seatcast.errors import DataError, PipelineError
from seatcast.io import RowLedger
from seatcast.parallel import ordered_map
from seatcast.preprocess import CleanOptions, clean, join_for_units
from seatcast.units import clear_caches

from .conftest import DATA

OPTIONS = CleanOptions()

TWEETS = [
    "Great rally today!!! #Vote @user_1 http://t.co/abc",
    'She said "no" \\ and left :(',
    "नमस्ते भारत 🇮🇳 #Election2019",
    "multi\nline tweet",
    "Soooooo happy :-) &amp; proud",
]


def real_tweets(count: int) -> list[str]:
    """Return ``count`` real election tweets from the shipped BJP file."""
    with gzip.open(
        DATA / "india2019" / "2019_bjp.csv.gz", "rt", encoding="utf-8-sig", newline=""
    ) as handle:
        reader = csv.DictReader(handle)
        return [next(reader)["tweets"] for _ in range(count)]


def write_csv(path, texts, compress=False):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "text"])
    writer.writerows([i, text] for i, text in enumerate(texts))
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def run(tmp_path, source, output_name="out.jsonl", jobs=1, chunk_size=2, **spec):
    output = tmp_path / output_name
    ledger = preprocess_file(
        SourceSpec(path=str(source), **spec),
        output,
        root=tmp_path,
        options=OPTIONS,
        run=RunSettings(jobs=jobs, chunk_size=chunk_size),
        limits=LimitSettings(),
    )
    return output, ledger


def read_jsonl(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# --- the worker function -------------------------------------------------------------------


def test_clean_to_jsonl_matches_json_dumps():
    lines = [2, 3, 5, 9, 10]
    count, payload = clean_to_jsonl((lines, TWEETS), OPTIONS)
    expected = "".join(
        json.dumps({"line": line, "tokens": clean(text, OPTIONS)}, ensure_ascii=False) + "\n"
        for line, text in zip(lines, TWEETS, strict=True)
    )
    assert count == 5
    assert payload == expected.encode("utf-8")


def test_clean_to_jsonl_escapes_lone_surrogates():
    count, payload = clean_to_jsonl(([7], ["bad \udce9 byte"]), OPTIONS)
    assert count == 1
    record = json.loads(payload.decode("utf-8"))
    assert record["line"] == 7
    assert "\udce9" in "".join(record["tokens"])


def test_clean_to_jsonl_compressed_is_one_gzip_member():
    count, payload = clean_to_jsonl(([1, 2], TWEETS[:2]), OPTIONS, True)
    _, plain = clean_to_jsonl(([1, 2], TWEETS[:2]), OPTIONS)
    assert count == 2
    assert gzip.decompress(payload) == plain
    # mtime=0: the same chunk always compresses to the same bytes.
    assert payload == clean_to_jsonl(([1, 2], TWEETS[:2]), OPTIONS, True)[1]


def test_clean_to_jsonl_rejects_mismatched_batch():
    with pytest.raises(ValueError, match="one line number per tweet"):
        clean_to_jsonl(([1], TWEETS[:2]), OPTIONS)


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_csv_rows_keep_order_and_line_numbers(tmp_path, compress):
    source = write_csv(tmp_path / ("in.csv.gz" if compress else "in.csv"), TWEETS, compress)
    output, ledger = run(tmp_path, source)
    records = read_jsonl(output)
    # Line 5 contains "multi" and its row continues on line 6, so the last row starts on line 7.
    assert [record["line"] for record in records] == [2, 3, 4, 5, 7]
    assert [record["tokens"] for record in records] == [clean(text, OPTIONS) for text in TWEETS]
    assert ledger.rows_read == ledger.rows_used == 5


@pytest.mark.parametrize("compress", [False, True])
def test_jsonl_and_tsv_give_same_tokens_as_csv(tmp_path, compress):
    texts = [text for text in TWEETS if "\n" not in text and "\t" not in text]
    jsonl = "".join(json.dumps({"id": i, "text": text}) + "\n" for i, text in enumerate(texts))
    tsv = "id\ttext\n" + "".join(f"{i}\t{text}\n" for i, text in enumerate(texts))
    tokens = {}
    for name, content in (("in.jsonl", jsonl), ("in.tsv", tsv)):
        data = content.encode("utf-8")
        source = tmp_path / (name + (".gz" if compress else ""))
        source.write_bytes(gzip.compress(data) if compress else data)
        output, _ = run(tmp_path, source, output_name=name + ".out")
        tokens[name] = [record["tokens"] for record in read_jsonl(output)]
    expected = [clean(text, OPTIONS) for text in texts]
    assert tokens["in.jsonl"] == expected
    assert tokens["in.tsv"] == expected


def test_gzip_output_decompresses_to_plain_output(tmp_path):
    source = write_csv(tmp_path / "in.csv", real_tweets(50))
    plain, _ = run(tmp_path, source, chunk_size=7)
    packed, _ = run(tmp_path, source, output_name="out.jsonl.gz", chunk_size=7)
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


# --- streaming -----------------------------------------------------------------------------


def test_output_is_written_while_input_is_read(tmp_path):
    source = write_csv(tmp_path / "in.csv", real_tweets(100))
    ledger = RowLedger()
    read_when_written = []

    def progress(count):
        read_when_written.append((ledger.rows_read, count))

    preprocess_file(
        SourceSpec(path=str(source)),
        tmp_path / "out.jsonl",
        root=tmp_path,
        options=OPTIONS,
        run=RunSettings(jobs=1, chunk_size=10),
        limits=LimitSettings(),
        progress=progress,
        ledger=ledger,
    )
    # The first chunk is written when only its own ten rows have been read.
    assert read_when_written[0] == (10, 10)
    assert len(read_when_written) == 10
    assert sum(count for _, count in read_when_written) == 100


# --- failures ------------------------------------------------------------------------------


def test_too_many_rejected_rows_leave_no_output(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,fine tweet\n2,\n3,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"2 of 3 rows .* were rejected"):
        run(tmp_path, source)
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_worker_failure_names_line_and_leaves_no_output(tmp_path, monkeypatch):
    def explode(texts, options):
        if any("boom" in text for text in texts):
            raise RuntimeError("tokenizer crashed")
        return join_for_units(texts, options)

    monkeypatch.setattr("seatcast.corpus.join_for_units", explode)
    # Rows start on lines 2 to 6; with two rows a chunk, "boom" is in the chunk from line 4.
    source = write_csv(tmp_path / "in.csv", ["a", "b", "c", "boom", "d"])
    with pytest.raises(
        PipelineError, match=r"chunk at .*in\.csv line 4: RuntimeError: tokenizer crashed"
    ):
        run(tmp_path, source, chunk_size=2)
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


@pytest.mark.slow
def test_two_jobs_write_same_bytes_as_one(tmp_path):
    source = write_csv(tmp_path / "in.csv", real_tweets(3000))
    one, _ = run(tmp_path, source, output_name="one.jsonl", jobs=1, chunk_size=100)
    two, ledger = run(tmp_path, source, output_name="two.jsonl", jobs=2, chunk_size=100)
    assert one.read_bytes() == two.read_bytes()
    assert ledger.rows_used == 3000
    assert len(read_jsonl(two)) == 3000


@pytest.mark.slow
def test_units_cleaned_in_a_worker_reach_this_process(monkeypatch):
    options = CleanOptions()
    tweets = real_tweets(600)
    texts = [["qzxmarker says hi"]] + [tweets[start : start + 20] for start in range(0, 600, 20)]
    items = [
        (f"chunk {index}", (list(range(len(chunk))), chunk)) for index, chunk in enumerate(texts)
    ]
    expected = [clean_to_jsonl(argument, options) for _, argument in items]
    clear_caches()
    pooled = ordered_map(
        clean_to_jsonl, items, extra=(options, False), jobs=2, exchange=SharedUnits(options)
    )
    assert list(pooled) == expected

    # The first chunk, the only one with the marker, always goes to the worker. This
    # process learned the marker from it, so it has nothing to clean.
    def no_cleaning(units, options):
        raise AssertionError(f"cleaned {units} again")

    monkeypatch.setattr(corpus, "clean_units", no_cleaning)
    assert clean_to_jsonl(([1], ["qzxmarker"]), options) == (
        1,
        b'{"line": 1, "tokens": ["qzxmarker"]}\n',
    )
    clear_caches()
