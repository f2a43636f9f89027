"""Every CLI command on the broken files of tests/data/broken, run as real subprocesses.

Each run must end with exit code 0 (rows merely rejected, under limits.max_rejected_share) or
2 (bad data, config or model), never with a traceback. A failure prints one error line that
names the file, line or key. Every rejected row is listed in rejected.csv with its line
number and reason, also when the run fails because too many rows were rejected.

The runs are started together in a module fixture, a few at a time, and each test checks
one of them. tests/data/broken/README.md describes each file.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from seatcast.cli import COMMAND_MODULES
from seatcast.config import LimitSettings, SourceSpec
from seatcast.errors import UsageError
from seatcast.io import RowLedger, read_rows

BROKEN = Path(__file__).resolve().parent / "data" / "broken"

# Seconds one CLI run may take before the test fails instead of hanging CI.
RUN_TIMEOUT = 300

ERROR_LINE_RE = re.compile(r"^\d\d:\d\d:\d\d ERROR (ConfigError|DataError|ModelError): (.+)$")
ROW_SUMMARY_RE = re.compile(r"rows read (\d+) = used (\d+) \+ excluded (\d+) \+ rejected (\d+)")

# Commands that read tweets. backtest joins them once it is registered.
TWEET_COMMANDS = [
    name
    for name in ("train", "predict", "evaluate", "preprocess", "backtest")
    if name in COMMAND_MODULES
]
LABELLED_COMMANDS = {"train", "evaluate"}


@dataclass(frozen=True)
class DataCase:
    """A broken tweet file and what every command must make of it."""

    file: str
    exit_code: int
    rows_read: int | None = None
    # (line, start of reason) of each row every command rejects.
    rejected: tuple[tuple[int, str], ...] = ()
    # Rows rejected only when labels are read (train and evaluate).
    labelled_rejected: tuple[tuple[int, str], ...] = ()
    message: str | None = None
    format: str | None = None
    encoding: str | None = None
    exit_codes: dict[str, int] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    stderr: str | None = None

    @property
    def id(self) -> str:
        suffix = f"-{self.encoding}" if self.encoding else ""
        return re.sub(r"[^A-Za-z0-9]+", "_", self.file) + suffix

    def expected_exit(self, command: str) -> int:
        return self.exit_codes.get(command, self.exit_code)

    def expected_rejected(self, command: str) -> set[tuple[int, str]]:
        rows = set(self.rejected)
        if command in LABELLED_COMMANDS:
            rows |= set(self.labelled_rejected)
        return rows

    def expected_message(self, command: str) -> str | None:
        return self.messages.get(command, self.message)


def _lines(start: int, stop: int, step: int, reason: str) -> tuple[tuple[int, str], ...]:
    return tuple((line, reason) for line in range(start, stop, step))


UNBALANCED = "malformed CSV (unbalanced quote)"
FIELDS = "wrong number of fields"

DATA_CASES = [
    DataCase("clean.csv", 0, rows_read=120),
    DataCase("stray_quote.csv", 0, rows_read=120, rejected=((20, UNBALANCED),)),
    DataCase(
        "bad_quoting.csv",
        2,
        rows_read=120,
        rejected=(*_lines(6, 117, 5, UNBALANCED), (121, "malformed CSV (unexpected end of data)")),
        message=r"24 of 120 rows \(20\.0%\) were rejected.*The first is data/bad_quoting\.csv line 6",
    ),
    DataCase(
        "invalid_utf8.csv",
        0,
        rows_read=120,
        rejected=((10, "invalid bytes"), (50, "invalid bytes")),
    ),
    DataCase(
        "latin1.csv",
        2,
        rows_read=120,
        rejected=_lines(2, 122, 1, "invalid bytes"),
        message=r"120 of 120 rows .*data/latin1\.csv line 2.*set `encoding` for the file",
    ),
    DataCase("latin1.csv", 0, rows_read=120, encoding="latin-1"),
    DataCase(
        "mojibake.csv", 0, rows_read=120, stderr=r"data/mojibake\.csv: 12 rows contain mojibake"
    ),
    DataCase(
        "truncated.csv.gz",
        2,
        message=r"cannot read data/truncated\.csv\.gz after line \d+: .* may be truncated",
    ),
    DataCase("corrupt.csv.gz", 2, message=r"cannot read data/corrupt\.csv\.gz after line 0: "),
    DataCase("empty.csv", 2, message=r"input file \S*data/empty\.csv is empty"),
    DataCase(
        "header_only.csv",
        2,
        rows_read=0,
        exit_codes={"preprocess": 0},
        messages={
            "train": r"no usable training tweets remain in data/header_only\.csv",
            "evaluate": r"data/header_only\.csv has no rows labelled negative, positive",
            "predict": r"no tweet was attributed to a party",
            "backtest": r"no tweet was attributed to a party",
        },
    ),
    DataCase("blank_lines_only.csv", 2, message=r"data/blank_lines_only\.csv has no header row"),
    DataCase(
        "nul_bytes.csv",
        0,
        rows_read=120,
        rejected=((30, "NUL bytes in the row"), (31, FIELDS)),
    ),
    DataCase(
        "long_line.csv",
        0,
        rows_read=120,
        rejected=((40, "line longer than limits.max_line_bytes"),),
    ),
    DataCase(
        "empty_text.csv",
        2,
        rows_read=120,
        rejected=(*_lines(6, 117, 10, "empty text"), (17, "empty text")),
        message=r"13 of 120 rows \(10\.8%\) were rejected,.*\(empty text: 13\)\. The first is data/empty_text\.csv line 6",
    ),
    DataCase(
        "label_spellings.csv",
        0,
        rows_read=120,
        labelled_rejected=(
            (8, "unknown label 'great'"),
            (9, "unknown label '5'"),
            (100, "unknown label 'positve'"),
        ),
    ),
    DataCase(
        "field_counts.csv",
        2,
        rows_read=120,
        rejected=_lines(4, 113, 12, FIELDS),
        message=r"10 of 120 rows \(8\.3%\) were rejected,.*data/field_counts\.csv line 4",
    ),
    DataCase(
        "garbage.jsonl",
        2,
        rows_read=60,
        rejected=(
            (5, "invalid JSON"),
            (10, "JSON line is not an object"),
            (15, "invalid JSON"),
            (20, "no text field 'text'"),
            (25, "empty text"),
            (30, "lone UTF-16 surrogate"),
            (35, "invalid JSON (number too long)"),
            (40, "invalid JSON"),
        ),
        message=r"8 of 60 rows \(13\.3%\) were rejected,.*data/garbage\.jsonl line 5",
    ),
    DataCase("bom_crlf.csv", 0, rows_read=120),
    DataCase(
        "header_typo.csv",
        2,
        message=r"column 'text' not found in data/header_typo\.csv.*Did you mean 'txet'\?",
    ),
    DataCase(
        "duplicate_column.csv",
        2,
        message=r"header of data/duplicate_column\.csv names column 'text' more than once",
    ),
    DataCase("binary.csv", 2, message=r"header row of data/binary\.csv is not valid utf-8 text"),
    DataCase(
        "semeval_broken.txt",
        0,
        rows_read=60,
        format="semeval",
        rejected=((5, FIELDS), (9, "malformed record (id is not a number)")),
    ),
]


@dataclass(frozen=True)
class ConfigCase:
    """A broken config and the error line it must give."""

    file: str
    message: str
    commands: tuple[str, ...] = ("train",)


CONFIG_CASES = [
    ConfigCase("config_unknown_key.yaml", r"unknown key `modell`; did you mean `model`\?"),
    ConfigCase(
        "config_nested_unknown_key.yaml", r"unknown key `cv\.n_split`; did you mean `n_splits`\?"
    ),
    ConfigCase("config_wrong_type.yaml", r"`run\.jobs` .*integer.*; got 'two'"),
    ConfigCase(
        "config_out_of_range.yaml",
        r"`limits\.max_rejected_share` .*less than or equal to 1.*; got 1\.5",
    ),
    ConfigCase("config_bad_choice.yaml", r"`mode` .*'binary' or '3class'.*; got 'ternary'"),
    ConfigCase("config_bad_list_item.yaml", r"`data\.train\[0\]\.format` .*; got 'xml'"),
    ConfigCase("config_missing_key.yaml", r"`data` is required but missing"),
    ConfigCase(
        "config_bad_yaml.yaml",
        r"is not valid YAML at line \d+, column \d+",
        ("train", "predict"),
    ),
    ConfigCase("config_not_mapping.yaml", r"must be a YAML mapping", ("train", "predict")),
    ConfigCase("config_empty.yaml", r"is empty", ("train", "predict")),
    ConfigCase("config_not_utf8.yaml", r"is not valid UTF-8", ("train", "predict")),
    ConfigCase(
        "election_bad_party.yaml",
        r"corpus party 'XYZ' must be one of the parties \(BJP\)",
        ("predict",),
    ),
    ConfigCase(
        "election_bad_seats.yaml",
        r"`seats\.total` .*greater than or equal to 1.*; got 0",
        ("predict",),
    ),
]


@dataclass
class Run:
    """One finished CLI run."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    rejected_csv: Path | None


def seatcast(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m seatcast ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "seatcast", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=RUN_TIMEOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _source_yaml(case: DataCase) -> str:
    parts = [f"path: data/{case.file}"]
    if case.format:
        parts.append(f"format: {case.format}")
    if case.encoding:
        parts.append(f"encoding: {case.encoding}")
    return ", ".join(parts)


def _election_yaml(source: str) -> str:
    return (
        "model: models/clean.skops\n"
        f"corpus:\n  - {{{source}, party: BJP}}\n"
        "parties:\n  - {name: BJP, hashtags: [bjp]}\n  - {name: INC, hashtags: [congress]}\n"
        "seats: {total: 10}\n"
        "results: {path: data/results.csv}\n"
        "bootstrap: {n_resamples: 0}\n"
        "subevents: {enabled: false}\n"
        "run: {jobs: 1}\n"
    )


def _data_run(project: Path, command: str, case: DataCase) -> tuple[list[str], Path]:
    """Return the arguments of one data run and where its rejected.csv must be."""
    name = f"{command}-{case.id}"
    if command == "train":
        config = project / "configs" / f"{name}.yaml"
        config.write_text(
            f"data:\n  train:\n    - {{{_source_yaml(case)}}}\nrun: {{jobs: 1}}\n",
            encoding="utf-8",
        )
        return ["train", "--no-cv", "--config", str(config)], project / "reports" / name
    if command in ("predict", "backtest"):
        config = project / "configs" / "elections" / f"{name}.yaml"
        config.write_text(_election_yaml(_source_yaml(case)), encoding="utf-8")
        return [command, "--config", str(config)], project / "reports" / name
    out = project / "out" / name
    options = []
    if case.format:
        options += ["--format", case.format]
    if case.encoding:
        options += ["--encoding", case.encoding]
    if command == "evaluate":
        args = ["evaluate", "--model", "models/clean.skops", "--data", f"data/{case.file}"]
        return [*args, "--output", str(out / "metrics.json"), *options], out
    args = ["preprocess", f"data/{case.file}", "--output", str(out / "tokens.jsonl")]
    return [*args, "--jobs", "1", *options], out


def _config_run(project: Path, command: str, case: ConfigCase) -> list[str]:
    folder = project / "configs" / ("elections" if command == "predict" else "")
    config = folder / f"{command}-{case.file}"
    shutil.copy(BROKEN / case.file, config)
    return [command, "--config", str(config)]


def _model_runs(project: Path) -> dict[str, list[str]]:
    """Return runs that load a damaged or missing model."""
    models = project / "models"
    tampered = models / "tampered.skops"
    data = bytearray((models / "clean.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    shutil.copy(models / "clean.json", models / "tampered.json")
    election = project / "configs" / "elections" / "model.yaml"
    election.write_text(_election_yaml("path: data/clean.csv"), encoding="utf-8")
    runs = {}
    for model in ("data/garbage.skops", "models/tampered.skops", "models/missing.skops"):
        stem = Path(model).stem
        runs[f"evaluate-{stem}"] = ["evaluate", "--model", model, "--data", "data/clean.csv"]
        runs[f"predict-{stem}"] = ["predict", "--config", str(election), "--model", model]
    return runs


MODEL_MESSAGES = {
    "garbage": r"ModelError: model \S*data/garbage\.skops was saved with scikit-learn 0\.0\.0",
    "tampered": r"ModelError: model file \S*models/tampered\.skops failed its integrity check",
    "missing": r"ModelError: model file not found: \S*models/missing\.skops",
}

SEATS_RUNS = {
    "seats-counts": (
        ["seats", "--counts", "data/counts_not_numbers.csv", "--total", "10"],
        r"counts_not_numbers\.csv",
    ),
    "calibrate-results": (
        ["calibrate", "--results", "data/results_missing_column.csv"],
        r"results_missing_column\.csv",
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project with every broken file in data/ and a model trained on clean.csv."""
    root = tmp_path_factory.mktemp("broken")
    (root / "pyproject.toml").write_text("[project]\nname = 'broken'\n", encoding="utf-8")
    for folder in ("configs/elections", "data", "models", "out"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for path in BROKEN.iterdir():
        if path.suffix not in (".py", ".md"):
            shutil.copy(path, root / "data" / path.name)
    (root / "data" / "results.csv").write_text("party,seats\nBJP,6\nINC,4\n", encoding="utf-8")
    (root / "configs" / "clean.yaml").write_text(
        "data:\n  train:\n    - {path: data/clean.csv}\nrun: {jobs: 1}\n", encoding="utf-8"
    )
    done = seatcast(["-q", "train", "--no-cv", "--config", "configs/clean.yaml"], root)
    assert done.returncode == 0, done.stderr
    return root


def _run_key(item: pytest.Item) -> set[str]:
    """Return the keys of the runs that a collected test of this module checks."""
    if item.module.__name__ != __name__:
        return set()
    if item.originalname == "test_failed_runs_leave_no_model_or_temp_files":
        return {f"train-{case.id}" for case in DATA_CASES}
    callspec = getattr(item, "callspec", None)
    if callspec is None or ("command" not in callspec.params and "key" not in callspec.params):
        return set()
    params = callspec.params
    if "key" in params:
        return {params["key"]}
    if "model" in params:
        return {f"{params['command']}-{params['model']}"}
    case = params["case"]
    return {f"{params['command']}-{case.id if isinstance(case, DataCase) else case.file}"}


@pytest.fixture(scope="module")
def runs(request, project) -> dict[str, Run]:
    """Run the commands that the selected tests check, a few at a time, and collect the
    results. Running them together keeps both CPUs busy."""
    wanted = set().union(*(_run_key(item) for item in request.session.items))
    planned: dict[str, tuple[list[str], Path | None]] = {}
    for command in TWEET_COMMANDS:
        for case in DATA_CASES:
            planned[f"{command}-{case.id}"] = _data_run(project, command, case)
    for case in CONFIG_CASES:
        for command in case.commands:
            planned[f"{command}-{case.file}"] = (_config_run(project, command, case), None)
    for key, args in _model_runs(project).items():
        planned[key] = (args, None)
    for key, (args, _) in SEATS_RUNS.items():
        planned[key] = (args, None)

    def run(item: tuple[str, tuple[list[str], Path | None]]) -> tuple[str, Run]:
        key, (args, folder) = item
        done = seatcast(args, project)
        rejected = folder / "rejected.csv" if folder is not None else None
        return key, Run(args, done.returncode, done.stdout, done.stderr, rejected)

    selected = [(key, value) for key, value in planned.items() if key in wanted]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, selected))


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line]


def _read_rejected(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _check_error_line(run: Run, pattern: str) -> None:
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert ERROR_LINE_RE.match(errors[0]), errors[0]
    assert re.search(pattern, errors[0]), errors[0]


@pytest.mark.slow
@pytest.mark.parametrize("command", TWEET_COMMANDS)
@pytest.mark.parametrize("case", DATA_CASES, ids=lambda case: case.id)
def test_command_on_broken_data(runs, command, case):
    run = runs[f"{command}-{case.id}"]
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == case.expected_exit(command), run.stderr

    expected = case.expected_rejected(command)
    if run.returncode == 0:
        assert _error_lines(run.stderr) == []
        summary = ROW_SUMMARY_RE.search(run.stdout)
        assert summary, run.stdout
        read, used, excluded, rejected = map(int, summary.groups())
        assert read == used + excluded + rejected
        assert rejected == len(expected)
        if case.rows_read is not None:
            assert read == case.rows_read
    else:
        pattern = case.expected_message(command)
        assert pattern is not None
        _check_error_line(run, pattern)

    if expected:
        rows = _read_rejected(run.rejected_csv)
        assert len(rows) == len(expected)
        found = sorted((int(row["line"]), row["reason"]) for row in rows)
        for (line, reason), (want_line, want_reason) in zip(found, sorted(expected), strict=True):
            assert line == want_line
            assert reason.startswith(want_reason), (line, reason)
        assert {row["file"] for row in rows} == {f"data/{case.file}"}
        assert all(len(row["text"]) <= 200 for row in rows)
    elif run.rejected_csv.exists():
        assert _read_rejected(run.rejected_csv) == []
    if case.stderr:
        assert re.search(case.stderr, run.stderr), run.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "case"),
    [(command, case) for case in CONFIG_CASES for command in case.commands],
    ids=lambda value: value if isinstance(value, str) else value.file,
)
def test_command_on_broken_config(runs, command, case):
    run = runs[f"{command}-{case.file}"]
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, run.stderr
    _check_error_line(run, case.message)
    assert case.file in _error_lines(run.stderr)[0]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("model", sorted(MODEL_MESSAGES))
def test_command_on_broken_model(runs, command, model):
    run = runs[f"{command}-{model}"]
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, run.stderr
    _check_error_line(run, MODEL_MESSAGES[model])


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(SEATS_RUNS))
def test_seat_commands_on_broken_tables(runs, key):
    run = runs[key]
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, run.stderr
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert re.search(SEATS_RUNS[key][1], errors[0]), errors[0]


@pytest.mark.slow
def test_failed_runs_leave_no_model_or_temp_files(runs, project):
    # Every training run on a file that fails must leave no model behind, and no run may
    # leave a temporary file anywhere in the project.
    failed = {case.id for case in DATA_CASES if case.expected_exit("train") != 0}
    models = {path.stem for path in (project / "models").glob("*.skops")}
    assert not {f"train-{case_id}" for case_id in failed} & models
    assert list(project.rglob(".*.tmp")) == []


# ---------------------------------------------------------------------------------------------
# The same files through the reader, without the CLI


@pytest.mark.parametrize("case", DATA_CASES, ids=lambda case: case.id)
def test_reader_accounts_for_every_row(case):
    ledger = RowLedger()
    spec = SourceSpec(
        path=str(BROKEN / case.file),
        format=case.format or "auto",
        encoding=case.encoding or "utf-8",
    )
    try:
        rows = list(read_rows(spec, root=BROKEN, ledger=ledger, labelled=True))
    except UsageError as error:
        # Only files that cannot be read at all fail here; they have no row-level expectations.
        assert case.exit_code == 2, error
        assert not case.rejected, error
        assert case.rows_read is None, error
        return
    ledger.use(len(rows))
    ledger.check_balanced()
    expected = sorted(set(case.rejected) | set(case.labelled_rejected))
    found = sorted((row.line, row.reason) for row in ledger.rejected_rows)
    assert [line for line, _ in found] == [line for line, _ in expected]
    if case.rows_read is not None:
        assert ledger.rows_read == case.rows_read


def test_stray_quote_loses_only_its_line(tmp_path):
    body = "".join(f"tweet number {i},positive\n" for i in range(1, 30))
    path = tmp_path / "a.csv"
    path.write_text('text,label\n"broken start,negative\n' + body, encoding="utf-8")
    ledger = RowLedger()
    rows = list(read_rows(SourceSpec(path=str(path)), root=tmp_path, ledger=ledger, labelled=True))
    assert [text for _, text, _, _ in rows] == [f"tweet number {i}" for i in range(1, 30)]
    assert [line for line, _, _, _ in rows] == list(range(3, 32))
    assert [(row.line, row.reason) for row in ledger.rejected_rows] == [(2, UNBALANCED)]


def test_quoted_multiline_text_is_one_row(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        'text,label\n"first line\nsecond, with comma",positive\nnext,negative\n', encoding="utf-8"
    )
    ledger = RowLedger()
    rows = list(read_rows(SourceSpec(path=str(path)), root=tmp_path, ledger=ledger, labelled=True))
    assert [(line, text) for line, text, _, _ in rows] == [
        (2, "first line\nsecond, with comma"),
        (4, "next"),
    ]
    assert ledger.rows_rejected == 0


def test_quote_run_over_line_limit_is_cut(tmp_path):
    # An opening quote that is never closed must not hold more than one line limit of text.
    body = "".join(f"row {i} {'x' * 80},positive\n" for i in range(100))
    path = tmp_path / "a.csv"
    path.write_text('text,label\n"open,positive\n' + body, encoding="utf-8")
    ledger = RowLedger()
    rows = list(
        read_rows(
            SourceSpec(path=str(path)),
            root=tmp_path,
            ledger=ledger,
            labelled=True,
            limits=LimitSettings(max_line_bytes=1024),
        )
    )
    assert len(rows) == 100
    assert [(row.line, row.reason) for row in ledger.rejected_rows] == [(2, UNBALANCED)]


def test_readme_lists_every_broken_file():
    readme = (BROKEN / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    present = {path.name for path in BROKEN.iterdir() if path.name != "README.md"}
    assert listed == present


def test_make_broken_rewrites_the_same_bytes(tmp_path):
    # The committed files are exactly what make_broken.py writes. Compressed bytes depend on
    # the zlib build, so the .gz files are compared after their intact prefix is inflated.
    copy = tmp_path / "broken"
    shutil.copytree(BROKEN, copy)
    for path in copy.iterdir():
        if path.suffix not in (".py", ".md"):
            path.unlink()
    subprocess.run([sys.executable, str(copy / "make_broken.py")], check=True, timeout=120)
    for path in BROKEN.iterdir():
        if path.suffix in (".py", ".md"):
            continue
        written = (copy / path.name).read_bytes()
        if path.suffix == ".gz":
            assert _inflate_prefix(written) == _inflate_prefix(path.read_bytes()), path.name
        else:
            assert written == path.read_bytes(), path.name


def _inflate_prefix(data: bytes) -> bytes:
    """Return what a damaged gzip stream inflates to before its first error."""
    inflater = zlib.decompressobj(wbits=31)
    output = b""
    for start in range(0, len(data), 64):
        try:
            output += inflater.decompress(data[start : start + 64])
        except zlib.error:
            break
    return output
