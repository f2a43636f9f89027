"""Readers: formats, encodings, malformed rows and row accounting."""

import gzip
import json

import pytest

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
