"""Readers: formats, encodings, malformed rows and row accounting."""

import csv
import gzip
import io
import json
import re
import zlib

import pytest

from seatcast import io_text
from seatcast.config import LimitSettings, SourceSpec
from seatcast.errors import ConfigError, DataError
from seatcast.io import RowLedger, detect_format, read_chunks, read_rows

from .conftest import DATA


def rows(tmp_path, name, content: bytes, labelled=True, **spec):
    path = tmp_path / name
    path.write_bytes(content)
    ledger = RowLedger()
    found = list(
        read_rows(
            SourceSpec(path=str(path), **spec), root=tmp_path, ledger=ledger, labelled=labelled
        )
    )
    return found, ledger


def test_csv_bom_crlf_and_multiline(tmp_path):
    content = (
        '\ufefftext,label\r\n"first line\r\nsecond line",positive\r\nplain,negative\r\n'
    ).encode("utf-8")
    found, ledger = rows(tmp_path, "a.csv", content)
    assert [(line, text, label) for line, text, label, _ in found] == [
        (2, "first line\r\nsecond line", "positive"),
        (4, "plain", "negative"),
    ]
    assert ledger.rows_read == 2
    assert ledger.rows_rejected == 0


def test_csv_rejects_wrong_field_count(tmp_path):
    content = b"text,label\ngood,positive\nbad,negative,extra\nfine,neutral\n"
    found, ledger = rows(tmp_path, "a.csv", content)
    assert [text for _, text, _, _ in found] == ["good", "fine"]
    assert ledger.rows_rejected == 1
    rejected = ledger.rejected_rows[0]
    assert rejected.line == 3
    assert rejected.reason.startswith("wrong number of fields (expected 2, got 3)")


def test_invalid_utf8_rejected_with_line(tmp_path):
    content = b"text,label\nok,positive\nbad \xff\xfe bytes,negative\nok too,negative\n"
    found, ledger = rows(tmp_path, "a.csv", content)
    assert [text for _, text, _, _ in found] == ["ok", "ok too"]
    assert ledger.rejected_rows[0].line == 3
    assert ledger.rejected_rows[0].reason == "invalid bytes for the file encoding"
    assert "\ufffd" in ledger.rejected_rows[0].text


def test_latin1_encoding_option(tmp_path):
    content = "text,label\ncaf\u00e9 ol\u00e9,positive\n".encode("latin-1")
    found, ledger = rows(tmp_path, "a.csv", content, encoding="latin-1")
    assert found[0][1] == "caf\u00e9 ol\u00e9"
    assert ledger.rows_rejected == 0


def test_unknown_encoding_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"`encoding` 'klingon' .* not a known text encoding"):
        rows(tmp_path, "a.csv", b"text,label\na,positive\n", encoding="klingon")


def test_empty_text_and_unknown_label(tmp_path):
    content = b"text,label\n   ,positive\nhi,great\nhello,\nyes,Positive\nno,-1\n"
    found, ledger = rows(tmp_path, "a.csv", content)
    assert [(text, label) for _, text, label, _ in found] == [
        ("yes", "positive"),
        ("no", "negative"),
    ]
    assert ledger.rejected == {"empty text": 1, "unknown label 'great'": 1, "missing label": 1}


def test_label_map_adds_spellings(tmp_path):
    content = b"text,label\nhi,great\n"
    found, _ = rows(tmp_path, "a.csv", content, label_map={"great": "positive"})
    assert found[0][2] == "positive"


def test_missing_column_names_file_and_columns(tmp_path):
    with pytest.raises(
        ConfigError, match=r"column 'tweet' not found in .*a.csv; its columns are 'text', 'label'"
    ):
        rows(tmp_path, "a.csv", b"text,label\na,positive\n", text_column="tweet")


def test_missing_and_empty_files(tmp_path):
    ledger = RowLedger()
    with pytest.raises(DataError, match=r"input file not found: .*missing.csv"):
        list(
            read_rows(SourceSpec(path="missing.csv"), root=tmp_path, ledger=ledger, labelled=False)
        )
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"input file .*empty.csv is empty"):
        list(read_rows(SourceSpec(path="empty.csv"), root=tmp_path, ledger=ledger, labelled=False))


def test_header_only_file_has_no_rows(tmp_path):
    found, ledger = rows(tmp_path, "a.csv", b"text,label\n")
    assert found == []
    assert ledger.rows_read == 0


def test_unknown_extension_needs_format(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot tell the format of .*a.dat"):
        rows(tmp_path, "a.dat", b"x")


def test_detect_format_handles_gz():
    from pathlib import Path

    assert detect_format(Path("x.CSV.gz")) == "csv"
    assert detect_format(Path("x.jsonl")) == "jsonl"
    assert detect_format(Path("x.tsv")) == "tsv"


def test_jsonl_rejects_broken_lines(tmp_path):
    lines = [
        json.dumps({"text": "good one", "label": "positive"}),
        '{"text": "broken',
        json.dumps(["not", "an", "object"]),
        "",
        json.dumps({"text": "fine", "label": "negative", "user": {"id": 1}}),
    ]
    found, ledger = rows(tmp_path, "a.jsonl", ("\n".join(lines) + "\n").encode())
    assert [(line, text) for line, text, _, _ in found] == [(1, "good one"), (5, "fine")]
    assert sorted(r.line for r in ledger.rejected_rows) == [2, 3]
    assert ledger.rejected_rows[0].reason.startswith("invalid JSON")
    assert ledger.rejected_rows[1].reason == "JSON line is not an object"


def test_semeval_escapes_and_continuation(tmp_path):
    content = (
        b"1\tpositive\tI\\u2019m happy \\ud83d\\ude00\t\n"
        b'2\tnegative\t"quoted text"\n'
        b"3\tneutral\tfirst part\n"
        b"second part\n"
        b"4\tpositive\tlast\n"
    )
    found, ledger = rows(tmp_path, "a.txt", content, format="semeval")
    assert [(line, text, label) for line, text, label, _ in found] == [
        (1, "I\u2019m happy \U0001f600", "positive"),
        (2, '"quoted text"', "negative"),
        (3, "first part\nsecond part", "neutral"),
        (5, "last", "positive"),
    ]
    assert ledger.rows_read == 4


def test_fields_keeps_bare_carriage_return(tmp_path):
    content = b"one\rstill one\tpositive\ntwo\tnegative\nthree\n"
    found, ledger = rows(tmp_path, "a.txt", content, format="fields", columns=["text", "label"])
    assert [text for _, text, _, _ in found] == ["one\rstill one", "two"]
    assert ledger.rejected_rows[0].line == 3


def test_gzip_is_read_directly(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"text,label\nhi,positive\n"))
    ledger = RowLedger()
    found = list(read_rows(SourceSpec(path=str(path)), root=tmp_path, ledger=ledger, labelled=True))
    assert found[0][1:3] == ("hi", "positive")


def test_truncated_gzip_is_data_error(tmp_path):
    path = tmp_path / "a.csv.gz"
    body = "".join(f"tweet number {i * 7919 % 10007},positive\n" for i in range(5000))
    compressed = gzip.compress(("text,label\n" + body).encode())
    path.write_bytes(compressed[: len(compressed) // 2])
    ledger = RowLedger()
    with pytest.raises(DataError, match=r"cannot read .*a.csv.gz.*truncated"):
        list(read_rows(SourceSpec(path=str(path)), root=tmp_path, ledger=ledger, labelled=True))


def test_long_line_rejected_and_read_continues(tmp_path):
    content = b"a\tpositive\n" + b"x" * 5000 + b"\tnegative\n" + b"b\tnegative\n"
    path = tmp_path / "a.txt"
    path.write_bytes(content)
    ledger = RowLedger()
    spec = SourceSpec(path=str(path), format="fields", columns=["text", "label"])
    found = list(
        read_rows(
            spec,
            root=tmp_path,
            ledger=ledger,
            labelled=True,
            limits=LimitSettings(max_line_bytes=1024),
        )
    )
    assert [text for _, text, _, _ in found] == ["a", "b"]
    assert ledger.rejected_rows[0].line == 2
    assert ledger.rejected_rows[0].reason == "line longer than limits.max_line_bytes"


def test_file_size_limit(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"text\n" + b"x\n" * 100)
    ledger = RowLedger()
    with pytest.raises(DataError, match=r"above limits.max_file_bytes"):
        list(
            read_rows(
                SourceSpec(path="a.csv"),
                root=tmp_path,
                ledger=ledger,
                labelled=False,
                limits=LimitSettings(max_file_bytes=10),
            )
        )


def test_chunks_keep_order_and_size(tmp_path):
    content = "text\n" + "".join(f"tweet {i}\n" for i in range(25))
    (tmp_path / "a.csv").write_text(content)
    ledger = RowLedger()
    chunks = list(
        read_chunks(
            SourceSpec(path="a.csv"), root=tmp_path, ledger=ledger, labelled=False, chunk_size=10
        )
    )
    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    assert [chunk.first_line for chunk in chunks] == [2, 12, 22]
    assert [text for chunk in chunks for text in chunk.texts] == [f"tweet {i}" for i in range(25)]


def test_ledger_balance_and_share():
    ledger = RowLedger(rows_read=10)
    ledger.use(7)
    ledger.exclude("duplicate tweet", 2)
    ledger.reject("f.csv", 3, "empty text", "")
    ledger.check_balanced()
    ledger.check_rejected_share(0.1, "data")
    with pytest.raises(DataError, match=r"1 of 10 rows \(10.0%\) were rejected.*empty text: 1"):
        ledger.check_rejected_share(0.05, "data")
    ledger.use(1)
    with pytest.raises(AssertionError, match="row accounting is off"):
        ledger.check_balanced()


def test_shipped_semeval_file_reads_cleanly(tmp_path):
    # The 2016 test file has one record whose text spans two lines; it must stay one record.
    ledger = RowLedger()
    spec = SourceSpec(
        path=str(DATA / "semeval2017" / "twitter-2016test-A.txt.gz"), format="semeval"
    )
    found = list(read_rows(spec, root=tmp_path, ledger=ledger, labelled=True))
    assert len(found) == 20632
    assert ledger.rows_rejected == 0
    assert {label for _, _, label, _ in found} == {"positive", "negative", "neutral"}


def test_shipped_twitter_samples_read_cleanly(tmp_path):
    ledger = RowLedger()
    spec = SourceSpec(
        path=str(DATA / "twitter_samples" / "positive_tweets.txt.gz"),
        format="fields",
        columns=["text", "label"],
    )
    found = list(read_rows(spec, root=tmp_path, ledger=ledger, labelled=True))
    assert len(found) == 5000
    assert ledger.rows_rejected == 0
    assert found[0][1].startswith("#FollowFriday @France_Inte")


def test_shipped_election_csv_reads_cleanly(tmp_path):
    ledger = RowLedger()
    spec = SourceSpec(
        path=str(DATA / "india2019" / "2019_bjp.csv.gz"),
        text_column="tweets",
        location_column="location",
    )
    found = list(read_rows(spec, root=tmp_path, ledger=ledger, labelled=False))
    assert len(found) == 8711
    assert ledger.rows_rejected == 0
    assert found[0][3]["location"]


# ---------------------------------------------------------------------------------------------
# CSV runs: many good rows parsed at once, broken ones read line by line


def val_tweets(count: int, quotes: bool = True) -> list[str]:
    """Return ``count`` TweetEval validation tweets, without their trailing blanks."""
    lines = (DATA / "tweeteval" / "val_text.txt").read_text(encoding="utf-8").split("\n")
    tweets = [line.rstrip() for line in lines if line.strip() and (quotes or '"' not in line)]
    assert len(tweets) >= count
    return tweets[:count]


class CsvFile:
    """A CSV or TSV file written record by record, with the line each record starts on."""

    def __init__(self, delimiter: str = ",", header: str = "id,text", ending: bytes = b"\n"):
        self.delimiter = delimiter
        self.ending = ending
        self.lines: list[bytes] = [header.replace(",", delimiter).encode()]

    def quote(self, *fields: str) -> str:
        """Return ``fields`` as one record, quoted the way csv.writer quotes them."""
        out = io.StringIO()
        # csv.writer quotes the fields that contain a character of the line terminator.
        csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n").writerow(fields)
        return out.getvalue().removesuffix("\r\n")

    def add(self, record: str | bytes) -> int:
        """Append ``record`` (without its line break); return the line it starts on."""
        number = len(self.lines) + 1
        data = record if isinstance(record, bytes) else record.encode("utf-8")
        self.lines.extend(data.split(b"\n"))
        return number

    def write(self, path) -> None:
        path.write_bytes(self.ending.join(self.lines) + self.ending)


def small_reads(monkeypatch) -> None:
    """Decode a few bytes at a time, so that records and lines straddle every boundary."""
    monkeypatch.setattr(io_text, "_READ_BYTES", 7)
    monkeypatch.setattr(io_text, "_FILL_BYTES", 300)


def read_all(path, tmp_path, chunk_size=None, **spec):
    """Return ``(rows, ledger)``: rows as (line, text) from read_rows, or from read_chunks."""
    ledger = RowLedger()
    source = SourceSpec(path=str(path), **spec)
    if chunk_size is None:
        found = read_rows(source, root=tmp_path, ledger=ledger, labelled=False)
        return [(line, text) for line, text, _, _ in found], ledger
    chunks = read_chunks(
        source, root=tmp_path, ledger=ledger, labelled=False, chunk_size=chunk_size
    )
    return [pair for chunk in chunks for pair in zip(chunk.lines, chunk.texts, strict=True)], ledger


@pytest.mark.parametrize("reads", ["default", "small"])
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_csv_broken_rows_among_many_good_rows(tmp_path, monkeypatch, reads, delimiter):
    if reads == "small":
        small_reads(monkeypatch)
    tweets = val_tweets(1400, quotes=False)
    out = CsvFile(delimiter)
    d = delimiter
    expected: list[tuple[int, str]] = []
    rejected: list[tuple[int, str]] = []
    for i, tweet in enumerate(tweets):
        # Damaged rows are written by hand, so their text must not hold the delimiter.
        plain = tweet.replace(d, " ")
        if i == 300:
            text = f"{tweet}\n{tweets[0]}"
            expected.append((out.add(out.quote(str(i), text)), text))
        elif i == 500:
            line = out.add(f"{i}{d}{out.quote(tweet)}{d}extra")
            rejected.append((line, "wrong number of fields (expected 2, got 3)"))
        elif i == 600:
            line = out.add(f'{i}{d}"quoted"{plain}')
            rejected.append((line, f"malformed CSV ('{d}' expected after"))
        elif i == 800:
            text = f"{plain[:10]}\r{plain[10:]}"
            expected.append((out.add(f"{i}{d}{text}"), text))
        elif i == 900:
            rejected.append((out.add(f"{i}{d}   "), "empty text"))
        elif i == 1000:
            out.add("")  # a blank line is no row
        elif i == 1100:
            rejected.append((out.add(f"{i}{d}{plain}\x00\x00"), "NUL bytes in the row"))
        elif i == 1200:
            # Invalid bytes outside the columns that are read do not reject the row.
            expected.append((out.add(b"\xff" + out.quote(str(i), tweet).encode()), tweet))
        elif i == 1300:
            line = out.add(f"{i}{d}{plain} ".encode() + b"\xc3\x28")
            rejected.append((line, "invalid bytes for the file encoding"))
        elif i == 1350:
            # The stray quote swallows the lines after it, which are parsed again.
            line = out.add(f'{i}{d}"{plain}')
            rejected.append((line, "malformed CSV (unbalanced quote)"))
        else:
            expected.append((out.add(out.quote(str(i), tweet)), tweet))
    path = tmp_path / ("a.csv" if delimiter == "," else "a.tsv")
    out.write(path)
    for chunk_size in (None, 64):
        found, ledger = read_all(path, tmp_path, chunk_size)
        assert found == expected
        assert [row.line for row in ledger.rejected_rows] == [line for line, _ in rejected]
        for row, (_, reason) in zip(ledger.rejected_rows, rejected, strict=True):
            assert row.reason.startswith(reason)
        assert ledger.rows_read == len(expected) + len(rejected)


@pytest.mark.parametrize("reads", ["default", "small"])
def test_csv_crlf_bom_and_bare_cr_among_tweets(tmp_path, monkeypatch, reads):
    if reads == "small":
        small_reads(monkeypatch)
    tweets = val_tweets(400)
    out = CsvFile(ending=b"\r\n")
    out.lines[0] = b"\xef\xbb\xbf" + out.lines[0]
    expected = []
    for i, tweet in enumerate(tweets):
        plain = tweet.replace(",", " ").replace('"', " ")
        if i % 97 == 5:
            # Written unquoted, as pandas writes a bare \r.
            text = f"{plain}\r"
            record = f"{i},{text}"
        elif i % 89 == 7:
            text = f"{plain[:5]}\r{plain[5:]}"
            record = f"{i},{text}"
        elif i % 83 == 3:
            text = f"{tweet}\r\n{tweet}"
            record = out.quote(str(i), text)
        elif i % 79 == 1:
            text = f"{tweet}\r{tweet}"
            record = out.quote(str(i), text)
        else:
            text = tweet
            record = out.quote(str(i), text)
        # The file's own line ends are \r\n.
        expected.append((out.add(record.replace("\r\n", "\n")), text))
    out.write(tmp_path / "a.csv")
    for chunk_size in (None, 7):
        found, ledger = read_all(tmp_path / "a.csv", tmp_path, chunk_size)
        assert found == expected
        assert ledger.rows_rejected == 0


def test_csv_lines_near_the_limit_among_tweets(tmp_path):
    limits = LimitSettings(max_line_bytes=1024)
    tweets = val_tweets(300, quotes=False)
    out = CsvFile()
    expected = []
    rejected = []
    for i, tweet in enumerate(tweets):
        if i == 50:
            # Up to 1,000 bytes: longer than a quarter of the limit, but within it.
            text = tweet
            while len(f"{i},{text} {tweet}".encode()) <= 1000:
                text = f"{text} {tweet}"
            expected.append((out.add(out.quote(str(i), text)), text))
        elif i == 100:
            rejected.append(
                (out.add(f"{i},{'x' * 1100}"), "line longer than limits.max_line_bytes")
            )
        elif i == 150:
            # A quoted text of six short lines that are together over the limit: its first
            # line is rejected and each line after it is parsed again as a record.
            first = out.add(f'{i},"{"a" * 200}')
            rejected.append((first, "malformed CSV (unbalanced quote)"))
            for _ in range(5):
                line = out.add("b" * 200)
                rejected.append((line, "wrong number of fields (expected 2, got 1)"))
            line = out.add('ccc"')
            rejected.append((line, "wrong number of fields (expected 2, got 1)"))
        else:
            expected.append((out.add(out.quote(str(i), tweet)), tweet))
    out.write(tmp_path / "a.csv")
    ledger = RowLedger()
    found = list(
        read_rows(
            SourceSpec(path="a.csv"), root=tmp_path, ledger=ledger, labelled=False, limits=limits
        )
    )
    assert [(line, text) for line, text, _, _ in found] == expected
    assert [(row.line, row.reason) for row in ledger.rejected_rows] == rejected


def test_ledger_counts_rows_as_they_are_yielded(tmp_path):
    tweets = val_tweets(250)
    out = CsvFile()
    # For each usable row: how many records were read up to and including it.
    read_through = []
    for i, tweet in enumerate(tweets):
        if i % 23 == 4:
            out.add(f"{i},")  # empty text, rejected
        elif i % 31 == 9:
            out.add(f"{i},{out.quote(tweet)},extra")  # wrong number of fields, rejected
        else:
            out.add(out.quote(str(i), tweet))
            read_through.append(i + 1)
    out.write(tmp_path / "a.csv")
    spec = SourceSpec(path="a.csv")

    ledger = RowLedger()
    seen = [ledger.rows_read for _ in read_rows(spec, root=tmp_path, ledger=ledger, labelled=False)]
    assert seen == read_through

    ledger = RowLedger()
    chunks = read_chunks(spec, root=tmp_path, ledger=ledger, labelled=False, chunk_size=10)
    seen = [(len(chunk), ledger.rows_read) for chunk in chunks]
    ends = [*range(10, len(read_through), 10), len(read_through)]
    starts = [0, *ends[:-1]]
    expected = [
        (end - start, read_through[end - 1]) for start, end in zip(starts, ends, strict=True)
    ]
    assert seen == expected


def test_truncated_gzip_yields_rows_before_the_damage(tmp_path):
    tweets = val_tweets(2000)
    out = CsvFile()
    for i, tweet in enumerate(tweets):
        out.add(out.quote(str(i), tweet))
    out.write(tmp_path / "a.csv")
    compressed = gzip.compress((tmp_path / "a.csv").read_bytes(), mtime=0)
    (tmp_path / "a.csv.gz").write_bytes(compressed[: len(compressed) // 2])
    intact = zlib.decompressobj(wbits=31).decompress(compressed[: len(compressed) // 2])
    spec = SourceSpec(path="a.csv.gz")

    # Every row whose line is complete before the error is yielded first.
    rows = []
    with pytest.raises(
        DataError, match=r"cannot read a.csv.gz after line \d+: .*truncated"
    ) as info:
        for _, text, _, _ in read_rows(spec, root=tmp_path, ledger=RowLedger(), labelled=False):
            rows.append(text)
    last_line = int(re.search(r"after line (\d+)", str(info.value)).group(1))
    assert 0 < last_line <= intact.count(b"\n")
    assert rows == tweets[: last_line - 1]

    chunks = []
    with pytest.raises(DataError, match=rf"after line {last_line}: "):
        for chunk in read_chunks(
            spec, root=tmp_path, ledger=RowLedger(), labelled=False, chunk_size=100
        ):
            chunks.append(chunk)
    assert [text for chunk in chunks for text in chunk.texts] == rows[: len(rows) // 100 * 100]


@pytest.mark.parametrize("chunk_size", [None, 50])
@pytest.mark.parametrize(
    ("bad_label", "reason"), [("great", "unknown label 'great'"), (" ", "missing label")]
)
def test_labelled_rows_and_extras_among_tweets(tmp_path, chunk_size, bad_label, reason):
    tweets = val_tweets(600)
    spellings = [
        ("Positive", "positive"),
        ("neg", "negative"),
        ("-1", "negative"),
        ("0", "neutral"),
    ]
    out = CsvFile(header="id,text,label,user,location")
    expected = []
    rejected = []
    for i, tweet in enumerate(tweets):
        raw, label = spellings[i % len(spellings)]
        user, location = f"user{i % 7}", ["Delhi", "", "Mumbai"][i % 3]
        if i == 200:
            line = out.add(out.quote(str(i), tweet, bad_label, user, location))
            rejected.append((line, reason))
        else:
            line = out.add(out.quote(str(i), tweet, raw, user, location))
            expected.append((line, tweet, label, {"user": user, "location": location}))
    out.write(tmp_path / "a.csv")

    # A spelling for the empty label does not make a blank label usable.
    spec = SourceSpec(
        path="a.csv", user_column="user", location_column="location", label_map={"": "neutral"}
    )
    ledger = RowLedger()

    if chunk_size is None:
        found = list(read_rows(spec, root=tmp_path, ledger=ledger, labelled=True))
    else:
        chunks = read_chunks(
            spec, root=tmp_path, ledger=ledger, labelled=True, chunk_size=chunk_size
        )
        found = [
            (line, text, label, {"user": user, "location": location})
            for chunk in chunks
            for line, text, label, user, location in zip(
                chunk.lines,
                chunk.texts,
                chunk.labels,
                chunk.extras["user"],
                chunk.extras["location"],
                strict=True,
            )
        ]

    assert found == expected
    assert [(row.line, row.reason) for row in ledger.rejected_rows] == rejected


def test_mojibake_warning_counts_rows_among_tweets(tmp_path, caplog):
    tweets = val_tweets(500)
    out = CsvFile()
    for i, tweet in enumerate(tweets):
        if i in (100, 200):
            text = f"{tweet} caf\u00c3\u00a9"  # "café" saved as UTF-8, read as latin-1, saved again
        elif i == 300:
            text = f"It\u00e2\u20ac\u2122s {tweet}"  # "It’s" the same way
        elif i == 400:
            out.add(out.quote(f"{i}\u00c3\u00a9", tweet))  # not in the text column: no warning
            continue
        elif i == 450:
            text = f"\u00e0 bient\u00f4t \u00e2 {tweet}"  # accented, but no mojibake
        else:
            text = tweet
        out.add(out.quote(str(i), text))
    out.write(tmp_path / "a.csv")
    with caplog.at_level("WARNING", logger="seatcast.io"):
        found, ledger = read_all(tmp_path / "a.csv", tmp_path, chunk_size=64)
    assert len(found) == 500
    assert ledger.rows_rejected == 0
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "3 rows contain mojibake" in warnings[0]
