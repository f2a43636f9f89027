"""Write the broken input files of this folder (run from the repository root).

    python tests/data/broken/make_broken.py

The files are committed; this script documents exactly how each one was made and rewrites
them byte for byte. README.md in this folder lists what each file tests.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Clean rows: 120 labelled tweets that each mention BJP or INC, 60 of each label, all distinct.
N_ROWS = 120

_POSITIVE = ["great", "brilliant", "hopeful", "strong", "inspiring", "honest", "wonderful", "proud"]
_NEGATIVE = ["terrible", "corrupt", "weak", "dishonest", "awful", "failed", "shameful", "sad"]
_SUBJECTS = ["Modi #bjp", "Rahul Gandhi #congress", "the #bjp manifesto", "the #congress rally"]
_THINGS = ["jobs", "farmers", "roads", "schools", "water", "prices", "security", "hospitals"]


def clean_rows() -> list[tuple[str, str]]:
    """Return ``N_ROWS`` distinct ``(text, label)`` pairs, alternating positive and negative."""
    generator = random.Random(2019)
    rows = []
    for i in range(N_ROWS):
        label = "positive" if i % 2 == 0 else "negative"
        words = _POSITIVE if label == "positive" else _NEGATIVE
        subject = _SUBJECTS[i % len(_SUBJECTS)]
        text = (
            f"{subject} is {generator.choice(words)} on {_THINGS[i % len(_THINGS)]} "
            f"and {generator.choice(words)} for {_THINGS[(i // 8) % len(_THINGS)]} "
            f"in ward {i}"
        )
        rows.append((text, label))
    return rows


def csv_text(rows: list[tuple[str, str]], header: str = "text,label") -> str:
    """Return rows as CSV text; texts never hold commas or quotes, so no quoting is needed."""
    return header + "\n" + "".join(f"{text},{label}\n" for text, label in rows)


def write(name: str, data: bytes | str) -> None:
    """Write one file of this folder."""
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def main() -> None:
    """Write every broken file."""
    rows = clean_rows()
    clean = csv_text(rows)
    lines = clean.splitlines(keepends=True)  # lines[0] is the header; lines[i] is file line i+1

    write("clean.csv", clean)

    # One stray quote on line 20: without resynchronisation it swallows every later row.
    stray = list(lines)
    stray[19] = '"' + stray[19]
    write("stray_quote.csv", "".join(stray))

    # A stray quote on every fifth data line: 24 of 120 rows (20%) are unusable.
    heavy = [line if i == 0 or i % 5 else '"' + line for i, line in enumerate(lines)]
    write("bad_quoting.csv", "".join(heavy))

    # Two rows with bytes that are not UTF-8 (lines 10 and 50).
    raw = [line.encode("utf-8") for line in lines]
    raw[9] = raw[9].replace(b" is ", b" is \xff\xfe ")
    raw[49] = raw[49].replace(b" on ", b" on \xc3\x28 ")
    write("invalid_utf8.csv", b"".join(raw))

    # The whole file in latin-1, with an accented word in every row: read as UTF-8, every row
    # is rejected; with `encoding: latin-1` every row is fine.
    latin = csv_text([(text.replace(" and ", " et caf\u00e9 "), label) for text, label in rows])
    write("latin1.csv", latin.encode("latin-1"))

    # UTF-8 text that was decoded as cp1252 and saved again: valid UTF-8, kept, but warned.
    mojibake = csv_text(
        [
            (text.replace(" and ", " and caf\u00c3\u00a9 ") if i % 10 == 0 else text, label)
            for i, (text, label) in enumerate(rows)
        ]
    )
    write("mojibake.csv", mojibake)

    # A gzip file cut in the middle of its compressed stream.
    big = csv_text(rows * 40)
    compressed = gzip.compress(big.encode("utf-8"), mtime=0)
    write("truncated.csv.gz", compressed[: len(compressed) // 2])

    # A gzip file with flipped bytes in its compressed stream.
    damaged = bytearray(gzip.compress(clean.encode("utf-8"), mtime=0))
    for position in (60, 61, 62, 200):
        damaged[position] ^= 0xFF
    write("corrupt.csv.gz", bytes(damaged))

    write("empty.csv", b"")
    write("header_only.csv", "text,label\n")
    write("blank_lines_only.csv", "\n\n  \n\n")

    # NUL bytes inside two rows (lines 30 and 31), as a crash can leave in a file.
    nul = list(lines)
    nul[29] = nul[29].replace(" is ", " is \x00\x00 ")
    nul[30] = "\x00" * 40 + "\n"
    write("nul_bytes.csv", "".join(nul))

    # One line of 2 MB (line 40), above the default limits.max_line_bytes of 1 MiB.
    long_line = list(lines)
    long_line[39] = "x" * (2 * 1024 * 1024) + ",positive\n"
    write("long_line.csv", "".join(long_line))

    # Empty or blank text in 12 of 120 rows (10%).
    empty = [
        (f",{line.split(',')[1]}" if i % 10 == 5 and i else line) for i, line in enumerate(lines)
    ]
    empty[16] = "   ," + lines[16].split(",")[1]
    write("empty_text.csv", "".join(empty))

    # Labels in many spellings (all accepted) and 3 unknown labels (lines 8, 9 and 100).
    spellings = ["Positive", "POS", " positive ", "1", "1.0", "pos"]
    negatives = ["Negative", "NEG", "negative ", "-1", "-1.0", "neg"]
    labels = []
    for i, (text, label) in enumerate(rows):
        options = spellings if label == "positive" else negatives
        labels.append((text, options[i % len(options)]))
    labels[6] = (labels[6][0], "great")
    labels[7] = (labels[7][0], "5")
    labels[98] = (labels[98][0], "positve")
    write("label_spellings.csv", csv_text(labels))

    # Rows with too many or too few fields: 10 of 120 rows.
    fields = list(lines)
    for i in range(3, 120, 12):
        fields[i] = (
            fields[i].rstrip("\n") + ",extra\n" if i % 24 == 3 else fields[i].split(",")[0] + "\n"
        )
    write("field_counts.csv", "".join(fields))

    # JSON Lines with garbage: 8 of 60 lines are not usable objects.
    records = [json.dumps({"text": text, "label": label}) for text, label in rows[:60]]
    records[4] = '{"text": "unterminated'
    records[9] = "[1, 2, 3]"
    records[14] = "not json at all"
    records[19] = '{"label": "positive"}'
    records[24] = '{"text": null, "label": "negative"}'
    records[29] = '{"text": "lone \\ud800 surrogate", "label": "positive"}'
    records[34] = '{"text": 1' + "0" * 5000 + ', "label": "negative"}'
    records[39] = "\u0000garbage"
    write("garbage.jsonl", "\n".join(records) + "\n")

    # A UTF-8 byte order mark and CRLF line ends: a clean file.
    write("bom_crlf.csv", ("\ufeff" + clean.replace("\n", "\r\n")).encode("utf-8"))

    # A misspelt text column in the header.
    write("header_typo.csv", clean.replace("text,label", "txet,label", 1))

    # The text column named twice.
    write(
        "duplicate_column.csv",
        "text,label,text\n"
        + "".join(f"{text},{label},copy {i}\n" for i, (text, label) in enumerate(rows)),
    )

    # Binary data (a PNG header and random bytes) with a .csv name.
    noise = random.Random(7).randbytes(4000)
    write("binary.csv", b"\x89PNG\r\n\x1a\n" + noise)

    # SemEval format with broken lines: a missing field (line 5) and a non-numeric id (line 9).
    semeval = [f"{1000 + i}\t{label}\t{text}" for i, (text, label) in enumerate(rows[:60])]
    semeval[4] = "1004\tpositive"
    semeval[8] = "abc\tnegative\tsome text"
    write("semeval_broken.txt", "\n".join(semeval) + "\n")

    write_configs()
    write_model_files()
    write_counts()


def write_configs() -> None:
    """Write one broken training config per kind of error."""
    base = "data:\n  train:\n    - {path: clean.csv}\ncv: {n_splits: 2}\n"
    write("config_unknown_key.yaml", base + "modell: {C: 1.0}\n")
    write("config_nested_unknown_key.yaml", base.replace("{n_splits: 2}", "{n_split: 2}"))
    write("config_wrong_type.yaml", base + "run: {jobs: two}\n")
    write("config_out_of_range.yaml", base + "limits: {max_rejected_share: 1.5}\n")
    write("config_bad_choice.yaml", base + "mode: ternary\n")
    write("config_bad_list_item.yaml", "data:\n  train:\n    - {path: clean.csv, format: xml}\n")
    write("config_missing_key.yaml", "mode: binary\n")
    write("config_bad_yaml.yaml", base + "model: {C: [1.0\n")
    write("config_not_mapping.yaml", "- just\n- a list\n")
    write("config_empty.yaml", "")
    write("config_not_utf8.yaml", (base + "name: caf\u00e9\n").encode("latin-1"))
    write(
        "election_bad_party.yaml",
        "corpus:\n  - {path: clean.csv, party: XYZ}\nparties:\n  - {name: BJP}\n"
        "seats: {total: 10}\n",
    )
    write(
        "election_bad_seats.yaml",
        "corpus:\n  - {path: clean.csv}\nparties:\n  - {name: BJP}\nseats: {total: 0}\n",
    )


def write_model_files() -> None:
    """Write a model file that is not a model, with metadata that claims it is one."""
    garbage = random.Random(11).randbytes(2000)
    write("garbage.skops", garbage)
    import hashlib

    metadata = {
        "name": "garbage",
        "labels": ["negative", "positive"],
        "model_sha256": hashlib.sha256(garbage).hexdigest(),
        "sklearn_version": "0.0.0",
        "preprocess": {},
    }
    write("garbage.json", json.dumps(metadata, indent=2) + "\n")


def write_counts() -> None:
    """Write broken inputs of `seatcast seats` and `seatcast calibrate`."""
    write("counts_not_numbers.csv", "party,n_positive,n_negative\nBJP,ten,3\nINC,4,5\n")
    write("results_missing_column.csv", "party,seats\nBJP,303\nINC,52\n")


if __name__ == "__main__":
    main()
