"""Property-based tests of the readers: any bytes in, a clean result or a seatcast error out.

Each entry point gets at least 1,000 generated cases: valid files of arbitrary Unicode text
that must read back exactly, and files damaged by byte flips, inserted quotes, tabs, line
breaks and NUL bytes, invalid UTF-8, truncation and over-long lines. Whatever the input, the
reader either raises a :class:`~seatcast.errors.UsageError` or yields rows such that every row
read is used or rejected exactly once, on a line that exists in the file.

Line limits use the smallest allowed ``limits.max_line_bytes`` (1,024 bytes), so that an
over-long line costs kilobytes per case. Separate tests cover 1 MiB lines at the default limit.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seatcast.config import LimitSettings, SourceSpec
from seatcast.errors import UsageError
from seatcast.io import RowLedger, read_chunks, read_rows

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SMALL_LIMITS = LimitSettings(max_line_bytes=1024)
MIB = 1024 * 1024

# Characters that break naive readers, mixed into otherwise arbitrary text.
NASTY = [
    '"',
    ",",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\ufeff",
    "\u2028",
    "\x85",
    "\\",
    "\\u00e9",
    "\\ud83d",
    "{",
    "}",
    "Ã©",
    "\u200b",
    " ",
    "\x1b[31m",
]


def _mixed_text(characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text of arbitrary runs of ``characters`` with NASTY pieces mixed in."""
    pieces = st.one_of(st.text(alphabet=characters, max_size=10), st.sampled_from(NASTY))
    return st.lists(pieces, max_size=6).map("".join)


texts = _mixed_text(st.characters(exclude_categories=("Cs",)))
labels = st.sampled_from(["positive", "negative", "neutral", "Positive", " NEG ", "-1", "1.0"])

# Damage applied to a file's bytes: (kind, position in [0, 1), payload).
DAMAGE_BYTES = [b'"', b",", b"\t", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b"{", b"\\", b'""']
damage = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate", "long"]),
        st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
        st.sampled_from(DAMAGE_BYTES),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder for the files of every case; each case overwrites its own file name."""
    return tmp_path_factory.mktemp("fuzz")


def apply_damage(data: bytes, steps: list[tuple[str, float, bytes]]) -> bytes:
    """Return ``data`` with each damage step applied in turn."""
    buffer = bytearray(data)
    for kind, where, payload in steps:
        position = int(where * (len(buffer) + 1))
        if kind == "flip" and buffer:
            position = min(position, len(buffer) - 1)
            buffer[position] ^= 0xFF
        elif kind == "insert":
            buffer[position:position] = payload
        elif kind == "delete":
            del buffer[position : position + 7]
        elif kind == "truncate":
            del buffer[position:]
        elif kind == "long":
            # A line of just over the small line limit.
            buffer[position:position] = b"x" * (SMALL_LIMITS.max_line_bytes + 9)
    return bytes(buffer)


def read_all(path: Path, limits: LimitSettings = SMALL_LIMITS, labelled=True, **spec):
    """Read ``path`` completely and return the rows and the ledger, or the UsageError."""
    ledger = RowLedger()
    source = SourceSpec(path=str(path), **spec)
    try:
        rows = list(
            read_rows(source, root=path.parent, ledger=ledger, labelled=labelled, limits=limits)
        )
    except UsageError as error:
        assert str(error), "a seatcast error must carry a message"
        assert "\n" not in str(error).strip() or isinstance(error, UsageError)
        return None, ledger, error
    return rows, ledger, None


def check_accounting(rows, ledger: RowLedger, n_lines: int) -> None:
    """Check that every row read is used or rejected once, on a line that exists."""
    ledger.use(len(rows))
    ledger.check_balanced()
    lines = [line for line, _, _, _ in rows] + [row.line for row in ledger.rejected_rows]
    assert len(lines) == len(set(lines)) == ledger.rows_read
    assert all(1 <= line <= max(n_lines, 1) for line in lines), (lines, n_lines)
    for _, text, _, _ in rows:
        assert text.strip()
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogate reaches the rest of the pipeline
    for row in ledger.rejected_rows:
        assert len(row.text) <= 200
        row.text.encode("utf-8")


def count_lines(data: bytes) -> int:
    """Return the number of lines as the readers count them: only \\n ends a line."""
    return data.count(b"\n") + 1


def non_blank(text: str) -> bool:
    return bool(text.strip()) and "\x00" not in text


def write_csv(rows: list[tuple[str, str]], delimiter: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------
# CSV and TSV


@FUZZ
@given(rows=st.lists(st.tuples(texts, labels), max_size=12), delimiter=st.sampled_from([",", "\t"]))
def test_csv_round_trip(folder, rows, delimiter):
    path = folder / ("round.csv" if delimiter == "," else "round.tsv")
    path.write_bytes(write_csv(rows, delimiter))
    found, ledger, error = read_all(path)
    assert error is None, error
    # Every record has a label, so every one is a row; blank or NUL texts are rejected.
    assert ledger.rows_read == len(rows)
    assert [text for _, text, _, _ in found] == [text for text, _ in rows if non_blank(text)]
    check_accounting(found, ledger, count_lines(path.read_bytes()))


@FUZZ
@given(
    rows=st.lists(st.tuples(texts, labels), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", "\t"]),
    steps=damage,
)
@example(rows=[("a", "positive")], delimiter=",", steps=[("insert", 0.5, b'"')])
@example(rows=[("a", "positive")] * 3, delimiter=",", steps=[("long", 0.3, b"")])
def test_csv_damaged(folder, rows, delimiter, steps):
    path = folder / ("damaged.csv" if delimiter == "," else "damaged.tsv")
    data = apply_damage(write_csv(rows, delimiter), steps)
    path.write_bytes(data)
    found, ledger, error = read_all(path)
    if error is None:
        check_accounting(found, ledger, count_lines(data))


def test_csv_megabyte_line_at_default_limit(folder):
    path = folder / "mega.csv"
    path.write_bytes(
        b"text,label\nok,positive\n" + b"y" * (MIB + 1) + b",negative\nfine,negative\n"
    )
    found, ledger, error = read_all(path, limits=LimitSettings())
    assert error is None
    assert [text for _, text, _, _ in found] == ["ok", "fine"]
    assert [(row.line, row.reason) for row in ledger.rejected_rows] == [
        (3, "line longer than limits.max_line_bytes")
    ]
    check_accounting(found, ledger, 4)


def test_csv_line_limit_counts_bytes_not_characters(folder):
    # 400 three-byte characters are 1,200 bytes: over a 1,024-byte limit.
    path = folder / "bytes.csv"
    path.write_text("text,label\n" + "\u20ac" * 400 + ",positive\nok,negative\n", encoding="utf-8")
    found, ledger, _ = read_all(path)
    assert [text for _, text, _, _ in found] == ["ok"]
    assert ledger.rejected_rows[0].line == 2


# ---------------------------------------------------------------------------------------------
# JSON Lines


surrogate_texts = _mixed_text(
    st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(["\ud800", "\udfff"]))
)


@FUZZ
@given(
    records=st.lists(st.tuples(surrogate_texts, labels), max_size=12),
    ascii_only=st.booleans(),
)
def test_jsonl_round_trip(folder, records, ascii_only):
    path = folder / "round.jsonl"
    lines = [
        json.dumps({"text": text, "label": label}, ensure_ascii=True) for text, label in records
    ]
    if not ascii_only:
        # Without ensure_ascii only escapes keep lone surrogates encodable, so keep those.
        lines = [
            json.dumps(
                {"text": text, "label": label},
                ensure_ascii=any(0xD800 <= ord(c) <= 0xDFFF for c in text),
            )
            for text, label in records
        ]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    found, ledger, error = read_all(path)
    assert error is None, error
    assert ledger.rows_read == len(records)
    expected = [
        text
        for text, _ in records
        if non_blank(text) and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    ]
    assert [text for _, text, _, _ in found] == expected
    check_accounting(found, ledger, len(lines))


@FUZZ
@given(records=st.lists(st.tuples(texts, labels), min_size=1, max_size=10), steps=damage)
@example(records=[("a", "positive")], steps=[("insert", 0.0, b"{")])
def test_jsonl_damaged(folder, records, steps):
    path = folder / "damaged.jsonl"
    lines = [json.dumps({"text": text, "label": label}) for text, label in records]
    data = apply_damage(("\n".join(lines) + "\n").encode("utf-8"), steps)
    path.write_bytes(data)
    found, ledger, error = read_all(path)
    if error is None:
        check_accounting(found, ledger, data.count(b"\n") + 1)


@FUZZ
@given(lines=st.lists(st.binary(max_size=80), min_size=1, max_size=10))
@example(lines=[b"[" * 100_000])
@example(lines=[b'{"text": 1' + b"0" * 5000 + b"}"])
def test_jsonl_arbitrary_bytes(folder, lines):
    path = folder / "bytes.jsonl"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    found, ledger, error = read_all(path, limits=LimitSettings(), labelled=False)
    if error is None:
        check_accounting(found, ledger, data.count(b"\n") + 1)


# ---------------------------------------------------------------------------------------------
# SemEval and tab-separated fields


plain_texts = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\t\n\r\\"),
    max_size=50,
)


@FUZZ
@given(records=st.lists(st.tuples(plain_texts, labels), max_size=12))
def test_semeval_round_trip(folder, records):
    path = folder / "round.txt"
    lines = [f"{1000 + i}\t{label}\t{text}" for i, (text, label) in enumerate(records)]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    found, ledger, error = read_all(path, format="semeval")
    assert error is None, error
    assert ledger.rows_read == len(records)
    assert [text for _, text, _, _ in found] == [text for text, _ in records if non_blank(text)]
    check_accounting(found, ledger, len(lines))


@FUZZ
@given(
    records=st.lists(st.tuples(plain_texts, labels), min_size=1, max_size=10),
    steps=damage,
    file_format=st.sampled_from(["semeval", "fields"]),
)
def test_tab_formats_damaged(folder, records, steps, file_format):
    path = folder / f"damaged-{file_format}.txt"
    if file_format == "semeval":
        lines = [f"{i}\t{label}\t{text}" for i, (text, label) in enumerate(records)]
        spec = {"format": "semeval"}
    else:
        lines = [f"{text}\t{label}" for text, label in records]
        spec = {"format": "fields", "columns": ["text", "label"]}
    data = apply_damage(("\n".join(lines) + "\n").encode("utf-8"), steps)
    path.write_bytes(data)
    found, ledger, error = read_all(path, **spec)
    if error is None:
        check_accounting(found, ledger, data.count(b"\n") + 1)


@FUZZ
@given(records=st.lists(st.tuples(plain_texts, labels), max_size=12))
@example(records=[("\ufeff", "positive"), ("\ufeffkept", "negative")])
def test_fields_round_trip(folder, records):
    path = folder / "round-fields.txt"
    lines = [f"{text}\t{label}" for text, label in records]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    found, ledger, error = read_all(path, format="fields", columns=["text", "label"])
    assert error is None, error
    # The file's first character is skipped when it is a byte order mark.
    if records and records[0][0].startswith("\ufeff"):
        records = [(records[0][0][1:], records[0][1]), *records[1:]]
    # A line of only blanks is not a row; any other line is.
    written = [(text, label) for text, label in records if f"{text}\t{label}".strip()]
    assert ledger.rows_read == len(written)
    assert [text for _, text, _, _ in found] == [text for text, _ in written if non_blank(text)]


# ---------------------------------------------------------------------------------------------
# gzip, encodings and chunks


@FUZZ
@given(
    rows=st.lists(st.tuples(texts, labels), min_size=1, max_size=12),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flip=st.booleans(),
)
def test_gzip_damaged(folder, rows, cut, flip):
    path = folder / "damaged.csv.gz"
    compressed = bytearray(gzip.compress(write_csv(rows, ","), mtime=0))
    if flip:
        compressed[int(cut * (len(compressed) - 1))] ^= 0x55
    else:
        del compressed[max(2, int(cut * len(compressed))) :]
    path.write_bytes(bytes(compressed))
    found, ledger, error = read_all(path)
    if error is None:
        check_accounting(
            found, ledger, count_lines(gzip.decompress(gzip.compress(write_csv(rows, ","))))
        )
    else:
        assert "damaged.csv.gz" in str(error)


@FUZZ
@given(
    data=st.binary(max_size=400),
    encoding=st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]),
    file_format=st.sampled_from(["csv", "tsv", "jsonl", "semeval"]),
)
@example(data=b"\xff\xfe\x00", encoding="utf-16", file_format="csv")
@example(data=b"text\n\x81\x8d\x8f", encoding="cp1252", file_format="csv")
def test_arbitrary_bytes_any_encoding(folder, data, encoding, file_format):
    path = folder / f"bytes.{'txt' if file_format == 'semeval' else file_format}"
    path.write_bytes(b"text,label\n" + data if file_format == "csv" else data)
    spec = {"encoding": encoding}
    if file_format == "semeval":
        spec["format"] = "semeval"
    found, ledger, error = read_all(path, labelled=False, **spec)
    if error is None:
        ledger.use(len(found))
        ledger.check_balanced()
        for _, text, _, _ in found:
            text.encode("utf-8")


@FUZZ
@given(
    rows=st.lists(st.tuples(texts, labels), max_size=25),
    chunk_size=st.integers(min_value=1, max_value=30),
    steps=damage,
)
def test_chunks_match_rows(folder, rows, chunk_size, steps):
    path = folder / "chunks.csv"
    path.write_bytes(apply_damage(write_csv(rows, ","), steps))
    found, row_ledger, error = read_all(path, labelled=False)
    chunk_ledger = RowLedger()
    spec = SourceSpec(path=str(path))
    try:
        chunks = list(
            read_chunks(
                spec,
                root=folder,
                ledger=chunk_ledger,
                labelled=False,
                chunk_size=chunk_size,
                limits=SMALL_LIMITS,
            )
        )
    except UsageError as chunk_error:
        assert error is not None
        assert type(chunk_error) is type(error)
        return
    assert error is None
    assert all(1 <= len(chunk) <= chunk_size for chunk in chunks)
    assert [text for chunk in chunks for text in chunk.texts] == [text for _, text, _, _ in found]
    assert [line for chunk in chunks for line in chunk.lines] == [line for line, _, _, _ in found]
    assert chunk_ledger.summary() == row_ledger.summary()
