"""Exit codes, error lines and option limits of the command line.

0 is success, 2 a usage, config, data or model mistake, 1 any other failure and 130 an
interrupted run. Every error is one log line on standard error; a traceback is shown only for
an unexpected error, and only with -v.
"""

from __future__ import annotations

import argparse
import errno
import gzip
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import seatcast.cli as cli
from seatcast.errors import (
    ConfigError,
    DataError,
    ModelError,
    PipelineError,
    SeatcastError,
    UsageError,
)

RUN_TIMEOUT = 180


def _parser_running(run):
    """Return a build_parser replacement whose one command, ``boom``, calls ``run(args)``."""

    def build(command: str | None = None) -> argparse.ArgumentParser:
        parser = cli._ArgumentParser(prog="seatcast")
        parser.add_argument("-v", "--verbose", action="count", default=0)
        parser.add_argument("-q", "--quiet", action="store_true")
        commands = parser.add_subparsers(dest="command", parser_class=cli._ArgumentParser)
        commands.add_parser("boom").set_defaults(func=run)
        return parser

    return build


def _parser_raising(error: BaseException | None, result: int | None = None):
    """Return a build_parser replacement whose one command raises ``error`` or returns
    ``result``."""

    def run(args: argparse.Namespace) -> int | None:
        if error is not None:
            raise error
        return result

    return _parser_running(run)


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (DataError("data/x.csv line 3: bad"), 2, r"ERROR DataError: data/x\.csv line 3: bad$"),
        (
            ConfigError("`cv.n_splits` must be at least 2; got 1"),
            2,
            r"ERROR ConfigError: `cv\.n_splits`",
        ),
        (
            ModelError("model file m.skops failed its integrity check"),
            2,
            r"ERROR ModelError: model file",
        ),
        (UsageError("bad option"), 2, r"ERROR UsageError: bad option$"),
        (PipelineError("a worker process died"), 1, r"ERROR PipelineError: a worker process died$"),
        (SeatcastError("something failed"), 1, r"ERROR SeatcastError: something failed$"),
        (
            PermissionError(errno.EACCES, "Permission denied", "/data/out.csv"),
            1,
            r"ERROR OSError: cannot access /data/out\.csv: Permission denied\.",
        ),
        (MemoryError(), 1, r"ERROR MemoryError: ran out of memory\. Lower --jobs or --chunk-size"),
        (
            RuntimeError("boom"),
            1,
            r"ERROR InternalError: RuntimeError: boom\. This is a bug in seatcast; run again with -v",
        ),
        (
            KeyboardInterrupt(),
            130,
            r"ERROR Interrupted by SIGINT: stopped the run; no partial output",
        ),
        (DataError("first line\nsecond line"), 2, r"ERROR DataError: first line second line$"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_error_maps_to_exit_code(monkeypatch, capsys, error, code, line):
    monkeypatch.setattr(cli, "build_parser", _parser_raising(error))
    assert cli.main(["boom"]) == code
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert re.search(line, lines[0]), lines[0]
    assert "Traceback" not in lines[0]


def test_internal_error_traceback_only_with_verbose(monkeypatch, capsys):
    monkeypatch.setattr(cli, "build_parser", _parser_raising(RuntimeError("boom")))
    assert cli.main(["-v", "boom"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "InternalError: RuntimeError: boom" in err


def test_usage_error_has_no_traceback_with_verbose(monkeypatch, capsys):
    monkeypatch.setattr(cli, "build_parser", _parser_raising(DataError("bad rows")))
    assert cli.main(["-v", "boom"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(("result", "code"), [(None, 0), (0, 0), (3, 3)])
def test_command_result_is_exit_code(monkeypatch, result, code):
    monkeypatch.setattr(cli, "build_parser", _parser_raising(None, result))
    assert cli.main(["boom"]) == code


def test_signal_handlers_are_restored(monkeypatch):
    monkeypatch.setattr(cli, "build_parser", _parser_raising(None))
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    cli.main(["boom"])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_sigterm_interrupts_and_second_signal_is_ignored(monkeypatch, capsys):
    cleaned_up = []

    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            raise AssertionError("SIGTERM must interrupt the command")
        finally:
            # Ctrl-C during the clean-up that SIGTERM started must not cut it short.
            os.kill(os.getpid(), signal.SIGINT)
            cleaned_up.append(True)

    monkeypatch.setattr(cli, "build_parser", _parser_running(run))
    assert cli.main(["boom"]) == 130
    assert cleaned_up == [True]
    err = capsys.readouterr().err
    assert "Interrupted by SIGTERM" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# The real command line, as a subprocess


def seatcast(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "seatcast", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture(scope="module")
def tweets(tmp_path_factory) -> Path:
    """A folder with a small clean tweet file."""
    folder = tmp_path_factory.mktemp("cli")
    rows = "".join(f"tweet number {i} about the rally,positive\n" for i in range(40))
    (folder / "tweets.csv").write_text("text,label\n" + rows, encoding="utf-8")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--jobs", "0"],
            r"--jobs: must be at least 1; got 0",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--jobs", "257"],
            r"--jobs: must be at most 256; got 257",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--jobs", "two"],
            r"--jobs: expected a whole number; got 'two'",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--chunk-size", "0"],
            r"--chunk-size: must be at least 1; got 0",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--chunk-size", "1000001"],
            r"--chunk-size: must be at most 1,000,000; got 1000001",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--max-rejected-share", "1.5"],
            r"--max-rejected-share: must be a number from 0 to 1; got '1\.5'",
        ),
        (
            ["preprocess", "tweets.csv", "-o", "out.jsonl", "--max-line-bytes", "100"],
            r"--max-line-bytes: must be at least 1,024; got 100",
        ),
        (["train"], r"the following arguments are required: --config"),
        (["frobnicate"], r"invalid choice: 'frobnicate'"),
    ],
)
def test_bad_option_exits_2(tweets, args, message):
    done = seatcast(args, tweets)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert re.search(r"seatcast: error: .*" + message, done.stderr), done.stderr


@pytest.mark.slow
def test_no_command_prints_help_and_exits_2(tweets):
    done = seatcast([], tweets)
    assert done.returncode == 2
    assert "COMMAND" in done.stderr


@pytest.mark.slow
def test_missing_config_exits_2(tweets):
    done = seatcast(["train", "--config", "missing.yaml"], tweets)
    assert done.returncode == 2
    assert "ConfigError: config file not found: missing.yaml" in done.stderr


@pytest.mark.slow
def test_output_folder_exits_2(tweets):
    (tweets / "a-folder").mkdir(exist_ok=True)
    done = seatcast(["preprocess", "tweets.csv", "-o", "a-folder", "--jobs", "1"], tweets)
    assert done.returncode == 2
    assert "ConfigError: output path a-folder is a folder; give a file path instead." in done.stderr
    assert list(tweets.glob(".*.tmp")) == []


@pytest.mark.slow
def test_unwritable_output_exits_1(tweets):
    # /proc accepts no new folders, even for root.
    done = seatcast(
        ["preprocess", "tweets.csv", "-o", "/proc/seatcast/out.jsonl", "--jobs", "1"], tweets
    )
    assert done.returncode == 1
    assert "OSError: cannot access /proc/seatcast" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_more_jobs_than_cpus_warns(tweets):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = min(cpus + 1, 256)
    done = seatcast(["preprocess", "tweets.csv", "-o", "many.jsonl", "--jobs", str(jobs)], tweets)
    assert done.returncode == 0, done.stderr
    assert f"jobs={jobs} is more than the {cpus} CPUs available" in done.stderr
    assert len((tweets / "many.jsonl").read_text(encoding="utf-8").splitlines()) == 40


@pytest.mark.slow
def test_chunk_size_one_gives_same_output(tweets):
    one = seatcast(
        ["preprocess", "tweets.csv", "-o", "one.jsonl", "--jobs", "2", "--chunk-size", "1"], tweets
    )
    big = seatcast(["preprocess", "tweets.csv", "-o", "big.jsonl", "--jobs", "2"], tweets)
    assert one.returncode == big.returncode == 0
    assert (tweets / "one.jsonl").read_bytes() == (tweets / "big.jsonl").read_bytes()


@pytest.mark.slow
def test_file_size_limit_option(tweets):
    done = seatcast(
        ["preprocess", "tweets.csv", "-o", "small.jsonl", "--max-file-bytes", "100"], tweets
    )
    assert done.returncode == 2
    assert "DataError: input file" in done.stderr
    assert "above limits.max_file_bytes = 100" in done.stderr
    assert not (tweets / "small.jsonl").exists()


@pytest.mark.slow
def test_decompressed_size_limit(tweets):
    # 2 MB of tweets compress to a few kilobytes; the limit applies to what they expand to.
    body = "text\n" + "the same tweet again\n" * 100_000
    (tweets / "bomb.csv.gz").write_bytes(gzip.compress(body.encode("utf-8")))
    done = seatcast(
        ["preprocess", "bomb.csv.gz", "-o", "bomb.jsonl", "--max-file-bytes", "1000000"], tweets
    )
    assert done.returncode == 2
    assert "expands to more than limits.max_file_bytes = 1,000,000 bytes" in done.stderr
    assert not (tweets / "bomb.jsonl").exists()


@pytest.mark.slow
def test_line_limit_option(tweets):
    (tweets / "long.csv").write_text(
        "text\nshort one\n" + "x" * 5000 + "\nshort two\n", encoding="utf-8"
    )
    done = seatcast(
        [
            "preprocess",
            "long.csv",
            "-o",
            "long.jsonl",
            "--max-line-bytes",
            "4096",
            "--max-rejected-share",
            "0.5",
        ],
        tweets,
    )
    assert done.returncode == 0, done.stderr
    assert "rows read 3 = used 2 + excluded 0 + rejected 1" in done.stdout
    rejected = (tweets / "rejected.csv").read_text(encoding="utf-8").splitlines()
    assert rejected[1].startswith("long.csv,3,line longer than limits.max_line_bytes,xxx")


@pytest.mark.slow
def test_version_exits_0(tweets):
    done = seatcast(["--version"], tweets)
    assert done.returncode == 0
    assert done.stdout.startswith("seatcast ")
