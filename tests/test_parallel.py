"""ordered_map on real process pools: order, failures, killed workers and clean-up."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import psutil
import pytest

from seatcast.errors import ConfigError, DataError, PipelineError
from seatcast.parallel import MAX_JOBS, ordered_map, resolve_jobs

# --- top-level worker functions (picklable, and importable by spawned workers) -------------


def add_offset(numbers, offset):
    return [number + offset for number in numbers]


def report_pid(numbers):
    return os.getpid()


def fail_on_thirteen(numbers):
    if 13 in numbers:
        raise ValueError(f"unlucky number in {numbers}")
    return sum(numbers)


def raise_data_error(numbers):
    raise DataError("`text` must be a string; got 3")


def hang_in_worker(numbers, marker_dir, parent_pid):
    """Write this worker's pid and sleep, so a test can kill it; the parent process, which
    works on chunks too, returns at once."""
    if os.getpid() != parent_pid:
        with open(os.path.join(marker_dir, "pid"), "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(60)
    return numbers


def call_extra(numbers, function):
    return function(numbers)


def numbered_items(count, size=3):
    """Yield (label, chunk) pairs of consecutive integers, like lines of a file."""
    for start in range(0, count, size):
        yield f"input.csv line {start + 1}", list(range(start, min(start + size, count)))


def live_children():
    """Return the running, non-zombie descendants of this process."""
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                children.append(child)
        except psutil.NoSuchProcess:
            continue
    return children


def children_left(before, timeout=10.0):
    """Wait up to ``timeout`` seconds for every descendant not in ``before`` to end, and
    return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        left = [child for child in live_children() if child.pid not in before]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture
def new_children():
    """Return a function listing the processes started during the test that still run.

    Processes that other fixtures started earlier, such as a moto server, do not count.
    """
    before = {child.pid for child in live_children()}
    return lambda timeout=10.0: children_left(before, timeout)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [0, -1, 1.5, "2", True, MAX_JOBS + 1])
def test_resolve_jobs_rejects_bad_values(jobs):
    with pytest.raises(ConfigError, match="`jobs` must be"):
        resolve_jobs(jobs)


def test_resolve_jobs_warns_above_cpu_count(caplog):
    available = len(os.sched_getaffinity(0))
    with caplog.at_level(logging.WARNING, logger="seatcast.parallel"):
        assert resolve_jobs(available + 1) == available + 1
    assert f"more than the {available} CPUs available" in caplog.text


def test_ordered_map_rejects_unknown_backend():
    with pytest.raises(ConfigError, match="`backend` must be one of processes, dask; got 'spark'"):
        ordered_map(add_offset, [], backend="spark")


@pytest.mark.parametrize("max_pending", [0, -3, 2.5])
def test_ordered_map_rejects_bad_max_pending(max_pending):
    with pytest.raises(ConfigError, match="`max_pending` must be a whole number"):
        ordered_map(add_offset, [], max_pending=max_pending)


def test_scheduler_without_dask_backend_is_rejected():
    with pytest.raises(ConfigError, match="--backend dask"):
        ordered_map(add_offset, [], scheduler="tcp://127.0.0.1:8786")


# --- in-process runs -----------------------------------------------------------------------


def test_serial_map_keeps_order_and_passes_extra():
    results = list(ordered_map(add_offset, numbered_items(10), extra=(100,), jobs=1))
    assert results == [[100, 101, 102], [103, 104, 105], [106, 107, 108], [109]]


def test_serial_map_names_failing_chunk():
    with pytest.raises(PipelineError, match=r"chunk at input\.csv line 13: ValueError: unlucky"):
        list(ordered_map(fail_on_thirteen, numbered_items(30), jobs=1))


def test_serial_map_passes_seatcast_errors_through():
    with pytest.raises(DataError, match="`text` must be a string"):
        list(ordered_map(raise_data_error, numbered_items(3), jobs=1))


def test_serial_map_reads_items_lazily():
    pulled = []

    def items():
        for label, chunk in numbered_items(30):
            pulled.append(label)
            yield label, chunk

    results = ordered_map(add_offset, items(), extra=(0,), jobs=1)
    assert pulled == []
    next(results)
    assert len(pulled) == 1


# --- process pools -------------------------------------------------------------------------


@pytest.mark.slow
def test_process_map_matches_serial_map(new_children):
    serial = list(ordered_map(add_offset, numbered_items(200, size=7), extra=(5,), jobs=1))
    pooled = list(ordered_map(add_offset, numbered_items(200, size=7), extra=(5,), jobs=2))
    assert pooled == serial
    assert new_children() == []


@pytest.mark.slow
def test_process_map_uses_one_worker(new_children):
    # 2 jobs are this process and one worker process, which always gets the first chunks.
    pids = set(ordered_map(report_pid, numbered_items(400, size=1), jobs=2, max_pending=8))
    workers = pids - {os.getpid()}
    assert len(workers) == 1
    assert new_children() == []
    assert not any(child.pid in workers for child in live_children())


@pytest.mark.slow
def test_process_map_keeps_bounded_lookahead():
    pulled = []

    def items():
        for label, chunk in numbered_items(300, size=1):
            pulled.append(label)
            yield label, chunk

    results = ordered_map(add_offset, items(), extra=(0,), jobs=2, max_pending=4)
    for done, _ in enumerate(results, start=1):
        # The result being yielded plus at most max_pending chunks ahead of it.
        assert len(pulled) <= done + 4
    assert len(pulled) == 300


@pytest.mark.slow
def test_process_map_sends_extra_once_without_pickling():
    # A lambda cannot be pickled: the run works only because the extra arguments reach the
    # workers once, through fork, and are never sent with a chunk.
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("needs the fork start method")
    results = list(ordered_map(call_extra, numbered_items(9), extra=(lambda n: sum(n),), jobs=2))
    assert results == [3, 12, 21]


@pytest.mark.slow
def test_process_map_names_failing_chunk(new_children):
    with pytest.raises(PipelineError, match=r"chunk at input\.csv line 13: ValueError: unlucky number in \[12, 13, 14\]"):
        list(ordered_map(fail_on_thirteen, numbered_items(60), jobs=2))
    assert new_children() == []


@pytest.mark.slow
def test_process_map_passes_seatcast_errors_through(new_children):
    with pytest.raises(DataError, match="`text` must be a string"):
        list(ordered_map(raise_data_error, numbered_items(6), jobs=2))
    assert new_children() == []


@pytest.mark.slow
@pytest.mark.timeout(50)  # the hung chunk sleeps 60 s: waiting on it would fail the test here
def test_killed_worker_ends_run_without_hanging(tmp_path, new_children):
    marker = tmp_path / "pid"

    def kill_when_ready():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_ready)
    killer.start()
    with pytest.raises(PipelineError, match=r"worker process died .* input\.csv line \d+"):
        list(ordered_map(hang_in_worker, numbered_items(300), extra=(str(tmp_path), os.getpid()), jobs=2))
    killer.join()
    assert new_children() == []


@pytest.mark.slow
def test_closing_iterator_early_stops_workers(new_children):
    results = ordered_map(add_offset, numbered_items(3000, size=1), extra=(0,), jobs=2)
    assert next(results) == [0]
    assert len(new_children(timeout=0)) >= 1
    results.close()
    assert new_children() == []


def write_pid(numbers, marker_dir):
    with open(os.path.join(marker_dir, f"pid-{os.getpid()}"), "w") as handle:
        handle.write(str(os.getpid()))
    return numbers


@pytest.mark.slow
@pytest.mark.timeout(50)
def test_worker_killed_between_chunks_ends_run(tmp_path, new_children):
    # The worker dies while the parent is reading input, so the pool may already be broken
    # when the next chunk is submitted. That must end the run the same way.
    def items():
        for label, chunk in numbered_items(60):
            if chunk[0] == 30:
                # The pid is read from the file's name: a worker may be rewriting its content.
                # This process works on chunks too and writes a file of its own.
                victim = next(
                    pid
                    for path in tmp_path.glob("pid-*")
                    if (pid := int(path.name.removeprefix("pid-"))) != os.getpid()
                )
                os.kill(victim, signal.SIGKILL)
                # Wait without reaping it: the pool must notice the death by itself.
                while psutil.pid_exists(victim) and psutil.Process(victim).status() != psutil.STATUS_ZOMBIE:
                    time.sleep(0.01)
                time.sleep(0.5)
            yield label, chunk

    with pytest.raises(PipelineError, match=r"worker process died .* input\.csv line \d+"):
        list(ordered_map(write_pid, items(), extra=(str(tmp_path),), jobs=2, max_pending=2))
    assert new_children() == []
