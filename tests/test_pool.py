"""The shared process pool: this process and its workers both work on chunks, in order."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import psutil
import pytest

from seatcast.errors import PipelineError
from seatcast.parallel import ordered_map
from seatcast.pool import PIPE_BYTES, WORKER_DEPTH, shared_map
from seatcast.pool_worker import RAW_BYTES


def label_pid(numbers):
    return numbers, os.getpid()


def slow_in_workers(numbers, parent_pid):
    """Sleep in a worker process only, so that the parent finds every worker busy."""
    if os.getpid() != parent_pid:
        time.sleep(0.02)
    return numbers, os.getpid()


def fail_here(numbers, parent_pid):
    if os.getpid() == parent_pid:
        raise ValueError(f"failed here on {numbers[0]}")
    time.sleep(0.02)
    return numbers


class UnpicklableError(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle this error")


def fail_unpicklably(numbers, parent_pid):
    if os.getpid() != parent_pid:
        raise UnpicklableError(f"odd failure on {numbers[0]}")
    return numbers


def grow(block):
    """Return a block four times as large, so results are larger than any pipe's buffer."""
    return block * 4


def count_and_double(block):
    """Return a tuple with one large bytes item, which travels outside the pickle."""
    return len(block), block * 2, block[:10], "text"


def fail_on_one_and_four(number):
    time.sleep(0.02)
    if number in (1, 4):
        raise ValueError(f"bad number {number}")
    return number


def raise_with_unrebuildable_argument(numbers):
    # The error pickles, but its argument raises when unpickled. (An argument is used rather
    # than a class whose __init__ takes two arguments, because importing dask.distributed
    # teaches pickle to rebuild such classes.)
    raise ValueError(Unrebuildable())


def exit_in_worker(numbers, parent_pid):
    if os.getpid() != parent_pid:
        sys.exit(3)
    return numbers


class Unrebuildable:
    """Pickles, but raises when unpickled."""

    def __reduce__(self):
        return (_raise_on_unpickle, ())

    def __str__(self):
        return "an unrebuildable value"


def _raise_on_unpickle():
    raise ValueError("cannot rebuild this chunk")


def identity(value):
    return value


def return_function(numbers):
    """Return a value that cannot be pickled."""
    return lambda: numbers


# The words this process has seen, for WordExchange: each maps to "own" when this process
# noted it first, or "given" when another process passed it on.
KNOWN: dict[str, str] = {}
# The words this process noted since WordExchange.take last ran.
NEW: list[str] = []


class WordExchange:
    """A toy exchange: each process notes the words it has not seen and passes them on."""

    def open(self):
        KNOWN.clear()
        NEW.clear()

    def take(self):
        new = list(NEW)
        NEW.clear()
        return new or None

    def give(self, lessons):
        for word in lessons:
            KNOWN.setdefault(word, "given")

    def close(self):
        NEW.clear()


def note_words(words, parent_pid):
    """Note the words of a chunk that this process has not seen, and report the words other
    processes gave it before the chunk."""
    if os.getpid() != parent_pid:
        time.sleep(0.01)
    given = {word for word, how in KNOWN.items() if how == "given"}
    fresh = [word for word in words if word not in KNOWN]
    for word in fresh:
        KNOWN[word] = "own"
        NEW.append(word)
    return os.getpid(), fresh, given


def word_chunks(count):
    return [(f"input.csv line {index + 1}", [f"w{index}", "common"]) for index in range(count)]


def items_of(count, size=3):
    for start in range(0, count, size):
        yield f"input.csv line {start + 1}", list(range(start, min(start + size, count)))


@pytest.mark.slow
def test_parent_works_on_chunks_while_workers_are_busy():
    results = list(ordered_map(slow_in_workers, items_of(300), extra=(os.getpid(),), jobs=2))
    assert [numbers for numbers, _ in results] == [numbers for _, numbers in items_of(300)]
    pids = [pid for _, pid in results]
    # The worker gets the first chunks, and this process takes a chunk whenever the worker
    # has WORKER_DEPTH of them.
    assert pids[0] != os.getpid()
    assert os.getpid() in pids
    assert len(set(pids)) == 2


@pytest.mark.slow
def test_three_jobs_use_two_workers_in_order():
    results = list(ordered_map(label_pid, items_of(600, size=2), jobs=3))
    assert [numbers for numbers, _ in results] == [numbers for _, numbers in items_of(600, size=2)]
    # The first chunks go to the two workers, WORKER_DEPTH each.
    first = [pid for _, pid in results[: 2 * WORKER_DEPTH]]
    assert len(set(first)) == 2
    assert os.getpid() not in first
    assert {pid for _, pid in results} - {os.getpid()} == set(first)


@pytest.mark.slow
def test_failure_in_this_process_names_the_chunk():
    with pytest.raises(
        PipelineError, match=r"chunk at input\.csv line \d+: ValueError: failed here on \d+"
    ):
        list(ordered_map(fail_here, items_of(300), extra=(os.getpid(),), jobs=2))


@pytest.mark.slow
def test_unpicklable_worker_error_arrives_as_its_message():
    with pytest.raises(
        PipelineError,
        match=r"chunk at input\.csv line 1: RuntimeError: UnpicklableError: odd failure on 0",
    ):
        list(ordered_map(fail_unpicklably, items_of(30), extra=(os.getpid(),), jobs=2))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_messages_larger_than_pipe_do_not_block():
    # Chunks of 1.5 pipe buffers and results of 6: the worker must read new chunks while its
    # results wait, or this process and the worker would each wait for the other.
    block = b"x" * (PIPE_BYTES * 3 // 2)
    items = [(f"input.csv line {i}", block[:-1] + bytes([i])) for i in range(12)]
    results = list(ordered_map(grow, items, jobs=2, max_pending=8))
    assert [result[-1] for result in results] == list(range(12))
    assert all(len(result) == 4 * len(block) for result in results)


@pytest.mark.slow
def test_large_bytes_in_tuple_results_arrive_whole():
    items = [(f"input.csv line {i}", bytes([i]) * (RAW_BYTES + i)) for i in range(40)]
    pooled = list(ordered_map(count_and_double, items, jobs=2))
    serial = list(ordered_map(count_and_double, items, jobs=1))
    assert pooled == serial
    assert all(type(result) is tuple for result in pooled)
    assert all(type(result[1]) is bytes for result in pooled)


@pytest.mark.slow
def test_closing_early_kills_busy_workers():
    before = {child.pid for child in psutil.Process().children()}
    results = shared_map(slow_in_workers, items_of(3000), (os.getpid(),), 2, 8)
    next(results)
    workers = [child for child in psutil.Process().children() if child.pid not in before]
    assert len(workers) == 1
    results.close()
    # Killed and reaped at once, without waiting for the chunks the worker holds.
    assert not psutil.pid_exists(workers[0].pid) or workers[0].status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_first_failing_chunk_is_reported_for_any_jobs(jobs):
    items = [(f"input.csv line {number}", number) for number in range(30)]
    with pytest.raises(
        PipelineError, match=r"chunk at input\.csv line 1: ValueError: bad number 1$"
    ):
        list(ordered_map(fail_on_one_and_four, items, jobs=jobs))


@pytest.mark.slow
def test_error_that_cannot_be_rebuilt_names_chunk():
    with pytest.raises(
        PipelineError,
        match=r"chunk at input\.csv line 1: RuntimeError: ValueError: an unrebuildable value",
    ):
        list(ordered_map(raise_with_unrebuildable_argument, items_of(30), jobs=2))


@pytest.mark.slow
def test_system_exit_in_worker_names_chunk():
    with pytest.raises(PipelineError, match=r"chunk at input\.csv line 1: SystemExit: 3"):
        list(ordered_map(exit_in_worker, items_of(30), extra=(os.getpid(),), jobs=2))


@pytest.mark.slow
def test_chunk_that_cannot_be_rebuilt_names_chunk():
    items = [("input.csv line 1", Unrebuildable())]
    with pytest.raises(
        PipelineError, match=r"chunk at input\.csv line 1: ValueError: cannot rebuild this chunk"
    ):
        list(ordered_map(identity, items, jobs=2))


@pytest.mark.slow
def test_chunk_that_cannot_be_pickled_names_chunk():
    items = [("input.csv line 1", threading.Lock())]
    with pytest.raises(
        PipelineError,
        match=r"cannot send the chunk at input\.csv line 1 to a worker process: TypeError",
    ):
        list(ordered_map(identity, items, jobs=2))


_signalled = []


def _interrupt_after_first_fork():
    if not _signalled:
        _signalled.append(True)
        os.kill(os.getpid(), signal.SIGINT)
        # Run Python code for a while inside the callback, where a handler that raises would
        # run if the signal reached another thread of this process.
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            pass


os.register_at_fork(
    after_in_parent=lambda: _interrupt_after_first_fork() if _arm_fork_signal else None
)
_arm_fork_signal = False


@pytest.mark.slow
@pytest.mark.parametrize("other_thread", [False, True])
def test_ctrl_c_during_fork_is_not_lost(other_thread):
    # Python runs a signal handler that raises inside an at-fork callback, prints the
    # exception and drops it. The pool defers the signal while it forks, so the handler
    # runs after the fork and the interruption reaches the caller. With another thread alive,
    # that thread receives the signal, and Python runs the handler in this one at once.
    global _arm_fork_signal
    before = {child.pid for child in psutil.Process().children()}
    _signalled.clear()
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    if other_thread:
        waiter.start()
    _arm_fork_signal = True
    try:
        with pytest.raises(KeyboardInterrupt):
            list(ordered_map(label_pid, items_of(300), jobs=2))
    finally:
        _arm_fork_signal = False
        stop.set()
        if other_thread:
            waiter.join()
    assert _signalled == [True]
    time.sleep(0.2)
    left = [child for child in psutil.Process().children() if child.pid not in before]
    assert [child for child in left if child.status() != psutil.STATUS_ZOMBIE] == []


@pytest.mark.slow
def test_unpicklable_result_fails_only_in_workers():
    with pytest.raises(PipelineError, match=r"chunk at input\.csv line 1: .*pickle"):
        list(ordered_map(return_function, items_of(30), jobs=2))
    # The same function runs in this process with 1 job, where nothing is pickled.
    results = list(ordered_map(return_function, items_of(30), jobs=1))
    assert [result() for result in results] == [numbers for _, numbers in items_of(30)]


@pytest.mark.slow
def test_exchange_reaches_parent_and_worker():
    results = list(
        ordered_map(
            note_words, word_chunks(120), extra=(os.getpid(),), jobs=2, exchange=WordExchange()
        )
    )
    here = os.getpid()
    worker = {pid for pid, _, _ in results} - {here}
    assert len(worker) == 1
    learned_here = {word for pid, fresh, _ in results if pid == here for word in fresh}
    learned_there = {word for pid, fresh, _ in results if pid != here for word in fresh}
    assert learned_here
    assert learned_there
    # This process ends up knowing every word, and was given only the worker's words.
    assert set(KNOWN) == {f"w{index}" for index in range(120)} | {"common"}
    assert {word for word, how in KNOWN.items() if how == "given"} <= learned_there
    # The worker was given words that this process noted, and never noted one of them again.
    given_there = set().union(*(given for pid, _, given in results if pid != here))
    assert given_there
    assert given_there <= learned_here
    for _, fresh, given in results:
        assert not set(fresh) & given
    KNOWN.clear()


@pytest.mark.slow
def test_exchange_forwards_lessons_between_workers():
    results = list(
        ordered_map(
            note_words, word_chunks(150), extra=(os.getpid(),), jobs=3, exchange=WordExchange()
        )
    )
    here = os.getpid()
    workers = {pid for pid, _, _ in results} - {here}
    assert len(workers) == 2
    for worker in workers:
        given = set().union(*(given for pid, _, given in results if pid == worker))
        others = {word for pid, fresh, _ in results if pid not in (worker, here) for word in fresh}
        assert given & others
    KNOWN.clear()


def test_one_job_is_rejected():
    with pytest.raises(ValueError, match="at least 2 jobs"):
        next(shared_map(label_pid, items_of(3), (), 1, 4))
