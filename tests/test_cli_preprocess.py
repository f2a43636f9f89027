"""`seatcast preprocess` through the real CLI: identical output for any jobs, errors, and
clean failure when a worker is killed."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from seatcast.cli import main
from seatcast.preprocess import clean, join_for_units

from .conftest import DATA
from .test_parallel import children_left, live_children


def write_real_tweets(path, count):
    """Write ``count`` real election tweets (CSV with multi-line fields) to ``path``."""
    rows = []
    with gzip.open(DATA / "india2019" / "2019_congress.csv.gz", "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        while len(rows) < count:
            try:
                row = next(reader)
            except StopIteration:
                # Fewer rows than asked: repeat them, as a longer file would.
                handle.seek(0)
                reader = csv.DictReader(handle)
                continue
            rows.append(row["tweets"])
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        writer.writerows([i, text] for i, text in enumerate(rows))
    return path




@pytest.fixture
def new_children():
    """Return a function listing the processes started during the test that still run."""
    before = {child.pid for child in live_children()}
    return lambda timeout=10.0: children_left(before, timeout)


def test_writes_tokens_and_summary(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"Vote #BJP today!!! http://t.co/x"\n2,@user so sad :(\n', encoding="utf-8")
    output = tmp_path / "out" / "tokens.jsonl"
    assert main(["-q", "preprocess", str(source), "-o", str(output), "--jobs", "1"]) == 0
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [record["line"] for record in records] == [2, 3]
    assert records[0]["tokens"] == clean("Vote #BJP today!!! http://t.co/x")
    out = capsys.readouterr().out
    assert "rows read 2 = used 2" in out
    assert f"output:   {output}" in out


def test_rejected_rows_go_to_rejected_csv(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n" + "".join(f"{i},tweet number {i}\n" for i in range(30)) + "30,\n", encoding="utf-8")
    output = tmp_path / "tokens.jsonl"
    assert main(["-q", "preprocess", str(source), "-o", str(output), "-j", "1"]) == 0
    rejected = (tmp_path / "rejected.csv").read_text(encoding="utf-8").splitlines()
    assert rejected[0] == "file,line,reason,text"
    assert rejected[1].endswith(",32,empty text,")
    assert len(output.read_text(encoding="utf-8").splitlines()) == 30


def test_output_equal_to_input_is_rejected(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,hello\n", encoding="utf-8")
    assert main(["preprocess", str(source), "-o", str(source)]) == 2
    assert "--output must differ from the input file" in capsys.readouterr().err
    assert source.read_text(encoding="utf-8") == "id,text\n1,hello\n"


def test_missing_input_exits_2(tmp_path, capsys):
    code = main(["preprocess", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out.jsonl")])
    assert code == 2
    assert "input file not found" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_bad_chunk_size_exits_2(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["preprocess", "in.csv", "-o", str(tmp_path / "out.jsonl"), "--chunk-size", value])
    assert exit_info.value.code == 2
    assert "--chunk-size" in capsys.readouterr().err


def test_scheduler_without_dask_backend_exits_2(tmp_path, capsys):
    source = write_real_tweets(tmp_path / "in.csv", 5)
    code = main(["preprocess", str(source), "-o", str(tmp_path / "out.jsonl"), "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2
    assert "--backend dask" in capsys.readouterr().err


@pytest.mark.slow
def test_one_and_two_jobs_write_identical_files(tmp_path, new_children):
    source = write_real_tweets(tmp_path / "in.csv", 4000)
    for jobs in ("1", "2"):
        code = main(["-q", "preprocess", str(source), "-o", str(tmp_path / f"out{jobs}.jsonl"), "-j", jobs, "--chunk-size", "300"])
        assert code == 0
    one = (tmp_path / "out1.jsonl").read_bytes()
    two = (tmp_path / "out2.jsonl").read_bytes()
    assert one == two
    assert one.count(b"\n") == 4000
    assert new_children() == []


@pytest.mark.slow
def test_finished_pool_stops_without_warning(tmp_path, capsys):
    # The pool's own thread reaps workers as they stop; a worker it reaped must not look
    # alive and be killed. Small chunks make many short runs, each stopping a pool.
    source = write_real_tweets(tmp_path / "in.csv", 600)
    for run in range(6):
        output = tmp_path / f"out{run}.jsonl"
        assert main(["-q", "preprocess", str(source), "-o", str(output), "-j", "2", "--chunk-size", "7"]) == 0
        assert "did not stop in time" not in capsys.readouterr().err


@pytest.mark.slow
def test_one_and_two_jobs_write_identical_gzip_files(tmp_path):
    source = write_real_tweets(tmp_path / "in.csv", 2000)
    for jobs in ("1", "2"):
        code = main(["-q", "preprocess", str(source), "-o", str(tmp_path / f"out{jobs}.jsonl.gz"), "-j", jobs, "--chunk-size", "250"])
        assert code == 0
    one = (tmp_path / "out1.jsonl.gz").read_bytes()
    assert one == (tmp_path / "out2.jsonl.gz").read_bytes()
    assert gzip.decompress(one).count(b"\n") == 2000


@pytest.mark.slow
def test_raising_worker_names_line_and_leaves_no_output(tmp_path, monkeypatch, capsys, new_children):
    # Workers are forked, so they inherit this replacement of the cleaning function.
    def explode(texts, options):
        if any("explode" in text for text in texts):
            raise RuntimeError("tokenizer crashed")
        return join_for_units(texts, options)

    monkeypatch.setattr("seatcast.corpus.join_for_units", explode)
    source = tmp_path / "in.csv"
    source.write_text("id,text\n" + "".join(f"{i},tweet {i}\n" for i in range(100)) + "100,explode\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    code = main(["-q", "preprocess", str(source), "-o", str(output), "-j", "2", "--chunk-size", "10"])
    assert code == 1
    # 101 rows on lines 2 to 102, ten a chunk: the last chunk holds only line 102.
    assert f"chunk at {source} line 102: RuntimeError: tokenizer crashed" in capsys.readouterr().err
    assert not output.exists()
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]
    assert new_children() == []


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_killed_worker_fails_cleanly_without_output(tmp_path):
    source = write_real_tweets(tmp_path / "in.csv", 40000)
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "seatcast", "preprocess", str(source), "-o", str(output), "-j", "2", "--chunk-size", "200"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(process.pid)
    workers = []
    while process.poll() is None and not workers:
        workers = parent.children()
        time.sleep(0.01)
    assert workers, "the run finished before its workers could be seen; use a larger input"
    victim, *others = workers
    os.kill(victim.pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=100)
    assert process.returncode == 1
    assert "PipelineError: a worker process died while processing the chunk at" in stderr
    assert "Traceback" not in stderr
    assert not output.exists()
    assert [name for name in os.listdir(tmp_path) if name != "in.csv"] == []
    for worker in others:
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
