"""Ctrl-C, SIGTERM and killed workers during real runs, as subprocesses.

Each test starts ``python -m seatcast train``, ``predict`` or ``preprocess`` on enough real
tweets to keep the worker pool busy for many seconds, waits until the worker processes exist,
and then signals. The run must stop promptly with exit code 130 (interrupted) or 1 (a worker
died), and print one error line and no traceback. It must leave no worker process behind and no
new file in models/, reports/ or the output folder, temporary ``.*.tmp`` files included.
"""

from __future__ import annotations

import csv
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from .conftest import DATA

pytestmark = pytest.mark.slow

# Seconds to wait for the worker processes to start, and for the run to end once signalled.
# A run that takes longer has hung, and the test fails instead of blocking CI.
START_TIMEOUT = 240
STOP_TIMEOUT = 90
# Seconds that worker processes may take to disappear after the run has ended.
REAP_TIMEOUT = 15

# The pool workers of train, predict and preprocess are forked children; joblib's loky
# workers, used by cross-validation, run this module.
LOKY_MARKER = "loky"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project with 360,000 labelled tweets, 245,000 election tweets and a small model."""
    root = tmp_path_factory.mktemp("signals")
    (root / "pyproject.toml").write_text("[project]\nname = 'signals'\n", encoding="utf-8")
    for folder in ("configs/elections", "data", "out"):
        (root / folder).mkdir(parents=True)

    # SemEval tweets repeated 60 times with new ids; deduplicate is off so all are tokenized.
    # Tokenizing them takes a few seconds, so a signal sent soon after the workers start lands
    # while they work.
    with gzip.open(
        DATA / "semeval2017" / "twitter-2016train-A.txt.gz", "rt", encoding="utf-8", newline="\n"
    ) as handle:
        records = [line.rstrip("\n").split("\t", 2) for line in handle]
    with open(root / "data" / "train.tsv", "w", encoding="utf-8", newline="\n") as out:
        number = 0
        for _ in range(60):
            for _, label, text in records:
                number += 1
                out.write(f"{number}\t{label}\t{text}\n")
    with open(root / "data" / "small.tsv", "w", encoding="utf-8", newline="\n") as out:
        out.writelines(f"{i}\t{label}\t{text}\n" for i, (_, label, text) in enumerate(records))

    # Real election tweets repeated 15 times.
    rows: list[list[str]] = []
    for party in ("bjp", "congress"):
        with gzip.open(
            DATA / "india2019" / f"2019_{party}.csv.gz", "rt", encoding="utf-8-sig", newline=""
        ) as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows.extend(reader)
    with open(root / "data" / "corpus.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for _ in range(15):
            writer.writerows(rows)

    configs = root / "configs"
    (configs / "small.yaml").write_text(
        "data:\n  train:\n    - {path: data/small.tsv, format: semeval}\nrun: {jobs: 1}\n",
        encoding="utf-8",
    )
    (configs / "big.yaml").write_text(
        "data:\n  train:\n    - {path: data/train.tsv, format: semeval}\n  deduplicate: false\n"
        "cv: {n_splits: 3}\nrun: {jobs: 2, chunk_size: 200}\n",
        encoding="utf-8",
    )
    (configs / "elections" / "big.yaml").write_text(
        "model: models/small.skops\n"
        "corpus:\n  - {path: data/corpus.csv, text_column: tweets, party: BJP}\n"
        "parties:\n  - {name: BJP, hashtags: [bjp]}\n  - {name: INC, hashtags: [congress]}\n"
        "cleaning: {duplicates: keep}\n"
        "seats: {total: 542}\nbootstrap: {n_resamples: 0}\nsubevents: {enabled: false}\n"
        "run: {jobs: 2, chunk_size: 200}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seatcast",
            "-q",
            "train",
            "--no-cv",
            "--config",
            "configs/small.yaml",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return root


COMMANDS = {
    "train": ["train", "--config", "configs/big.yaml"],
    "predict": ["predict", "--config", "configs/elections/big.yaml"],
    "preprocess": [
        "preprocess",
        "data/corpus.csv",
        "--text-column",
        "tweets",
        "--output",
        "out/tokens.jsonl",
        "--jobs",
        "2",
        "--chunk-size",
        "200",
    ],
}


def snapshot(root: Path) -> set[Path]:
    """Return every file under models/, reports/ and out/."""
    return {
        path.relative_to(root)
        for folder in ("models", "reports", "out")
        if (root / folder).exists()
        for path in (root / folder).rglob("*")
        if path.is_file()
    }


def start(root: Path, command: str) -> subprocess.Popen:
    """Start a run in its own session, so that a group signal reaches only the run."""
    return subprocess.Popen(
        [sys.executable, "-m", "seatcast", *COMMANDS[command]],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_workers(run: subprocess.Popen, marker: str | None = None) -> list[psutil.Process]:
    """Wait until the run has worker processes (whose command line contains ``marker``, when
    given) and return every child process it has then."""
    parent = psutil.Process(run.pid)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()[1]
        children = parent.children(recursive=True)
        workers = [child for child in children if marker is None or _has(child, marker)]
        if workers:
            # Let the pool take its first chunks, so that the signal lands mid-run.
            time.sleep(0.5)
            return parent.children(recursive=True)
        time.sleep(0.05)
    run.kill()
    raise AssertionError(f"no worker process started within {START_TIMEOUT} s")


def _has(process: psutil.Process, marker: str) -> bool:
    try:
        return marker in " ".join(process.cmdline())
    except psutil.Error:
        return False


def finish(run: subprocess.Popen) -> tuple[int, str]:
    """Wait for the run to end and return its exit code and standard error."""
    try:
        _, stderr = run.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        raise AssertionError(
            f"the run did not stop within {STOP_TIMEOUT} s of the signal"
        ) from None
    return run.returncode, stderr


def assert_gone(processes: list[psutil.Process]) -> None:
    """Fail unless every process has exited (a zombie waiting to be reaped counts as gone)."""
    deadline = time.monotonic() + REAP_TIMEOUT
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [process for process in alive if _running(process)]
        time.sleep(0.1)
    assert alive == [], [process.pid for process in alive]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line]


def assert_nothing_written(root: Path, before: set[Path]) -> None:
    assert snapshot(root) == before
    assert list(root.rglob(".*.tmp")) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("signal_number", "to_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm"],
)
def test_signal_stops_run_cleanly(project, command, signal_number, to_group):
    before = snapshot(project)
    run = start(project, command)
    children = wait_for_workers(run)
    assert children, "the run must have worker processes when it is signalled"
    if to_group:
        # Ctrl-C in a terminal signals every process of the foreground group.
        os.killpg(run.pid, signal_number)
    else:
        run.send_signal(signal_number)
    code, stderr = finish(run)

    assert code == 130, stderr
    assert "Traceback" not in stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    assert f"Interrupted by {signal.Signals(signal_number).name}" in errors[0]
    assert_gone(children)
    assert_nothing_written(project, before)


def test_signal_during_cross_validation(project):
    before = snapshot(project)
    run = start(project, "train")
    children = wait_for_workers(run, marker=LOKY_MARKER)
    run.send_signal(signal.SIGINT)
    code, stderr = finish(run)

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert len(error_lines(stderr)) == 1, stderr
    assert "Interrupted by SIGINT" in error_lines(stderr)[0]
    assert_gone(children)
    # rejected.csv is written, complete, as soon as the data is loaded, before the folds run;
    # the model, metrics and plot are not.
    rejected = project / "reports" / "big" / "rejected.csv"
    assert rejected.read_text(encoding="utf-8").startswith("file,line,reason,text\n")
    rejected.unlink()
    assert_nothing_written(project, before)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_killed_worker_fails_run(project, command):
    before = snapshot(project)
    run = start(project, command)
    children = wait_for_workers(run)
    children[0].kill()
    code, stderr = finish(run)

    assert code == 1, stderr
    assert "Traceback" not in stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    assert "PipelineError: a worker process died" in errors[0]
    assert_gone(children)
    assert_nothing_written(project, before)
