"""A process pool for ordered maps in which the calling process works on chunks too.

``jobs`` processes share the chunks: this process and ``jobs - 1`` worker processes. This
process reads the input, keeps each worker supplied with up to :data:`WORKER_DEPTH` chunks,
cleans a chunk itself whenever every worker is supplied, and yields the results in input
order. On 2 cores, 2 jobs are this process and one worker, so no core is left idle while this
process only reads and writes.

Each worker has a pipe of its own for chunks and one for results, so its results come back
in the order it received the chunks. This process runs no threads for the pool. The pools of
the standard library move chunks and results through threads in the calling process, and
those threads wait for the GIL while this process works on a chunk, which leaves the workers
without work. A worker runs one thread too. It writes its results without blocking, and
while a result waits for room in the pipe it reads and runs its next chunk, so neither process
waits for the other on a full pipe. (A second thread that sends results costs a GIL hand-over
and two context switches per chunk.)

Processes can also pass each other what they learn while they run chunks, through an
:class:`Exchange` (seatcast's cleaning passes the words each process has cleaned). The lessons
travel with the results and the chunks that are sent anyway. What runs in a worker, and the
format of the messages, are in :mod:`seatcast.pool_worker`.

Workers are forked where the platform allows it, so they inherit the function and its extra
arguments. Elsewhere they are spawned and receive them pickled, once. Chunks and results are
pickled. A worker that raises sends the exception back, and it is raised when its chunk's
turn comes, so the error is the same for any number of jobs. A worker that dies is seen
through its process sentinel or the end of its result pipe. Either way the run ends with
:class:`~seatcast.errors.PipelineError` naming the chunk, and on any exit, Ctrl-C included,
the workers are killed and reaped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import pickle
import signal
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seatcast.errors import PipelineError, SeatcastError
from seatcast.pool_worker import (
    FAILED,
    RAW_COUNT,
    STOP_SIGNALS,
    Exchange,
    Task,
    read_message,
    work,
    write_message,
)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["WORKER_DEPTH", "Exchange", "describe_failure", "shared_map"]

logger = logging.getLogger(__name__)

# Maximum chunks sent to one worker whose results have not arrived: the one it works on and the
# ones queued in its pipe. With 2, the worker of a 2-job preprocess run sat idle part of the
# time, whenever this process spent longer than one chunk's time reading and cleaning.
WORKER_DEPTH = 3

# Bytes a pipe holds before a write blocks, on Linux, where F_SETPIPE_SZ can grow a pipe
# (unprivileged processes up to /proc/sys/fs/pipe-max-size, 1 MiB by default). The default of
# 64 KiB is less than one chunk of 2,000 tweets or its JSON Lines.
PIPE_BYTES = 1 << 20

# Seconds to wait for a killed worker process to be reaped.
JOIN_SECONDS = 5


def describe_failure(label: str, error: BaseException) -> str:
    """Return the message for ``error``, raised by the function on the chunk at ``label``."""
    return f"a worker failed on the chunk at {label}: {type(error).__name__}: {error}"


def worker_died(label: str) -> PipelineError:
    """Return the error for a worker process that died while the chunk at ``label`` was
    pending."""
    return PipelineError(
        f"a worker process died while processing the chunk at {label} or a chunk after it "
        "(killed by a signal or out of memory); no output was kept. Run again, or lower "
        "--jobs or --chunk-size if memory is short."
    )


@dataclass(eq=False)
class _Entry:
    """A chunk of the run, from when it is read until its result is yielded."""

    number: int
    label: str
    argument: Any
    worker: _Worker | None = None
    done: bool = False
    result: Any = None
    # The error to raise in place of the result, when the function raised on this chunk.
    error: BaseException | None = None
    # What the worker that ran the chunk learned meanwhile, until it is passed on.
    lessons: Any = None


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    chunks: multiprocessing.connection.Connection
    results: multiprocessing.connection.Connection
    # The chunks sent to this worker whose results have not arrived, in the order sent.
    sent: deque[_Entry] = field(default_factory=deque)
    # What the other processes learned since the last chunk sent to this worker, pickled.
    lessons: list[bytes] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# In this process


def _grow_pipe(connection: multiprocessing.connection.Connection) -> None:
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        # Above the system's limit the pipe keeps its size, which costs speed, not results.
        with contextlib.suppress(OSError):
            fcntl.fcntl(connection.fileno(), setpipe, PIPE_BYTES)


def _start_workers(count: int, task: Task) -> list[_Worker]:
    # fork starts workers in milliseconds and lets them inherit what this process has loaded
    # (the model, functions defined in a notebook). Windows has only spawn.
    forked = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forked else "spawn")
    workers: list[_Worker] = []
    try:
        for _ in range(count):
            chunks_out, chunks_in = context.Pipe(duplex=False)
            results_out, results_in = context.Pipe(duplex=False)
            _grow_pipe(chunks_in)
            _grow_pipe(results_in)
            # A spawned worker receives only the pipe ends in its arguments.
            inherited: tuple[multiprocessing.connection.Connection, ...] = ()
            if forked:
                earlier = [end for worker in workers for end in (worker.chunks, worker.results)]
                inherited = (chunks_in, results_out, *earlier)
            process = context.Process(
                target=work,
                args=(task, chunks_out, results_in, inherited),
                name="seatcast-worker",
                daemon=True,
            )
            workers.append(_Worker(process, chunks_in, results_out))
            with _signals_deferred():
                process.start()
            chunks_out.close()
            results_in.close()
    except BaseException:
        _stop_workers(workers)
        raise
    logger.debug("Started %d worker processes", count)
    return workers


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back Ctrl-C and SIGTERM while a worker is forked, and handle them afterwards.

    Python drops an exception that a signal handler raises inside an at-fork callback, so an
    interruption then would be lost. The signals are blocked in this thread, and the forked
    worker inherits that mask until it has handlers of its own. Another thread of this process
    can still receive them, and Python then runs the handler here, between any two bytecodes.
    So during the fork a handler that only records the signal replaces the usual one, and a
    recorded signal is raised again once the usual handler is back.
    """
    caught: list[int] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            # None: a handler set outside Python, which cannot be put back.
            if signal.getsignal(signum) is not None:
                previous[signum] = signal.signal(signum, lambda signum, _: caught.append(signum))
    mask = None
    if hasattr(signal, "pthread_sigmask"):
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        if mask is not None:
            # A signal left pending by the mask is recorded as it is delivered here.
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


def _stop_workers(workers: list[_Worker]) -> None:
    # The workers are idle or working on chunks whose results are not needed, and each has
    # pipes of its own, so killing one, even in the middle of a message, harms no other.
    for worker in workers:
        worker.chunks.close()
        worker.results.close()
        if worker.process.pid is not None:
            worker.process.kill()
    for worker in workers:
        if worker.process.pid is not None:
            worker.process.join(timeout=JOIN_SECONDS)


def _send(worker: _Worker, entry: _Entry) -> None:
    try:
        message = pickle.dumps((entry.argument, worker.lessons), pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        raise PipelineError(
            f"cannot send the chunk at {entry.label} to a worker process: "
            f"{type(error).__name__}: {error}. Chunks must be picklable; run with 1 job instead."
        ) from error
    try:
        write_message(worker.chunks, message)
    except OSError:
        # The worker is gone, so the oldest chunk it had is the first whose result is lost.
        raise worker_died(worker.sent[0].label if worker.sent else entry.label) from None
    entry.argument = None
    entry.worker = worker
    worker.sent.append(entry)
    worker.lessons = []


def _receive(worker: _Worker, block: bool) -> _Entry | None:
    """Store the outcome of the oldest chunk sent to ``worker`` in the chunk's entry, and
    return the entry.

    Returns ``None``, without waiting, when ``block`` is false and the outcome is not there.
    """
    entry = worker.sent[0]
    if block:
        # Waiting on the sentinel too turns a worker's death into an error instead of a hang.
        ready = multiprocessing.connection.wait([worker.results, worker.process.sentinel])
        if worker.results not in ready:
            raise worker_died(entry.label)
    elif not worker.results.poll():
        return None
    try:
        head = read_message(worker.results)
        (count,) = RAW_COUNT.unpack_from(head)
        items = [read_message(worker.results) for _ in range(count)]
    except (EOFError, OSError, struct.error):
        # The worker died before it sent the whole outcome.
        raise worker_died(entry.label) from None
    worker.sent.popleft()
    entry.done = True
    try:
        status, value, raw, entry.lessons = pickle.loads(memoryview(head)[RAW_COUNT.size :])
    except Exception as error:
        entry.error = _chunk_error(entry, error)
        return entry
    if status == FAILED:
        entry.error = _chunk_error(entry, value)
    elif raw:
        value = list(value)
        for position, item in zip(raw, items, strict=True):
            value[position] = item
        entry.result = tuple(value)
    else:
        entry.result = value
    return entry


def _chunk_error(entry: _Entry, error: BaseException) -> BaseException:
    """Return what to raise for ``error``, raised by the function on ``entry``'s chunk."""
    if isinstance(error, SeatcastError):
        return error
    failure = PipelineError(describe_failure(entry.label, error))
    failure.__cause__ = error
    return failure


def _run_here(task: Task, entry: _Entry) -> None:
    try:
        entry.result = task.function(entry.argument, *task.extra)
    except Exception as error:
        entry.error = _chunk_error(entry, error)
    entry.argument = None
    entry.done = True
    if task.exchange is not None:
        entry.lessons = task.exchange.take()


def _pass_on(
    exchange: Exchange | None,
    entry: _Entry | None,
    workers: list[_Worker],
    source: _Worker | None,
) -> None:
    """Give what the process that ran ``entry`` learned to every other process: this one
    when ``source`` is a worker, and the other workers with their next chunk."""
    if exchange is None or entry is None or entry.lessons is None:
        return
    lessons, entry.lessons = entry.lessons, None
    if source is not None:
        exchange.give(lessons)
    others = [worker for worker in workers if worker is not source]
    if others:
        # Pickled once here, so more workers cost a copy of the bytes each, not a pickling.
        data = pickle.dumps(lessons, pickle.HIGHEST_PROTOCOL)
        for worker in others:
            worker.lessons.append(data)


def _earlier_failure(failed: _Entry | None, entry: _Entry | None) -> _Entry | None:
    """Return whichever of ``failed`` and a failed ``entry`` comes first in the input."""
    if entry is None or entry.error is None:
        return failed
    if failed is None or entry.number < failed.number:
        return entry
    return failed


def _comes_before(entry: _Entry, failed: _Entry | None) -> bool:
    return failed is None or entry.number < failed.number


def shared_map(
    function: Callable[..., Any],
    items: Iterable[tuple[str, Any]],
    extra: tuple[Any, ...],
    jobs: int,
    max_pending: int,
    exchange: Exchange | None = None,
) -> Iterator[Any]:
    """Yield ``function(argument, *extra)`` for each ``(label, argument)``, in input order,
    with this process and ``jobs - 1`` worker processes sharing the chunks.

    What the processes learn while they run chunks is passed between them through
    ``exchange`` when one is given (see :class:`Exchange`).

    At most ``max_pending`` chunks are read ahead of the result being yielded. The workers
    start when the first result is requested, and are stopped when the iterator is exhausted
    or closed, or raises. When the function raises on several chunks, the error of the first
    of them in input order is raised, whichever process ran it.

    Workers are daemon processes, so ``function`` cannot start a pool of its own in them.
    Chunks and results must be picklable. A result that cannot be pickled fails only on the
    chunks that a worker ran.
    """
    if jobs < 2:
        raise ValueError(f"shared_map needs at least 2 jobs; got {jobs}")
    task = Task(function, extra, exchange)
    workers = _start_workers(jobs - 1, task)
    pending: deque[_Entry] = deque()
    # The chunks of ``pending`` that no process has taken yet, oldest first.
    waiting: deque[_Entry] = deque()
    # The first chunk in input order whose function raised. Chunks after it are not read, sent
    # or run, and its error is raised when it reaches the front, so that the error is the same
    # for any number of jobs.
    failed: _Entry | None = None
    iterator = iter(items)
    exhausted = False
    number = 0
    try:
        if exchange is not None:
            exchange.open()
        while True:
            while failed is None and not exhausted and len(pending) < max_pending:
                try:
                    label, argument = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                entry = _Entry(number, label, argument)
                number += 1
                pending.append(entry)
                waiting.append(entry)
            # Collect the results that have arrived, and refill the workers they came from.
            for worker in workers:
                while worker.sent and (received := _receive(worker, block=False)) is not None:
                    failed = _earlier_failure(failed, received)
                    _pass_on(exchange, received, workers, worker)
                while (
                    waiting
                    and len(worker.sent) < WORKER_DEPTH
                    and _comes_before(waiting[0], failed)
                ):
                    _send(worker, waiting.popleft())
            if not pending:
                return
            front = pending[0]
            if front.done:
                pending.popleft()
                if front.error is not None:
                    raise front.error
                yield front.result
            elif waiting and _comes_before(waiting[0], failed):
                # Every worker has its WORKER_DEPTH chunks, so this process takes the oldest
                # waiting chunk instead of waiting for a result.
                entry = waiting.popleft()
                _run_here(task, entry)
                failed = _earlier_failure(failed, entry)
                _pass_on(exchange, entry, workers, None)
            else:
                received = _receive(front.worker, block=True)
                failed = _earlier_failure(failed, received)
                _pass_on(exchange, received, workers, front.worker)
    finally:
        _stop_workers(workers)
        if exchange is not None:
            exchange.close()
