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
without work. A worker sends its results from a second thread, so it can read its next chunk
while a result waits for room in the pipe. Neither process then waits for the other on a full
pipe.

Workers are forked where the platform allows it, so they inherit the function and its extra
arguments; elsewhere they are spawned and receive them pickled, once. Chunks and results are
pickled. A worker that raises sends the exception back. A worker that dies is seen through
its process sentinel or the end of its result pipe. Either way the run ends with
:class:`~seatcast.errors.PipelineError` naming the chunk, and on any exit, Ctrl-C included,
the workers are killed and reaped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seatcast.errors import PipelineError, SeatcastError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["WORKER_DEPTH", "describe_failure", "shared_map"]

logger = logging.getLogger(__name__)

# Maximum chunks sent to one worker whose results have not arrived: the one it works on and the
# ones queued in its pipe. With 2, the worker of a 2-job preprocess run sat idle part of the
# time, whenever this process spent longer than one chunk's time reading and cleaning.
WORKER_DEPTH = 3

# Bytes a pipe holds before a write blocks, on Linux, where F_SETPIPE_SZ can grow a pipe
# (unprivileged processes up to /proc/sys/fs/pipe-max-size, 1 MiB by default). The default of
# 64 KiB is less than one chunk of 2,000 tweets or its JSON Lines.
PIPE_BYTES = 1 << 20

# Items of a tuple result that are bytes of at least this length travel as messages of their
# own, so that neither process copies them into or out of a pickle. A chunk's JSON Lines are
# about 400 KB.
RAW_BYTES = 64 * 1024

# Seconds to wait for a killed worker process to be reaped.
JOIN_SECONDS = 5

_OK = 0
_FAILED = 1

# Length of a message, before its bytes, on POSIX pipes.
_LENGTH = struct.Struct("!Q")


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

    label: str
    argument: Any
    worker: _Worker | None = None
    done: bool = False
    result: Any = None


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    chunks: multiprocessing.connection.Connection
    results: multiprocessing.connection.Connection
    # The chunks sent to this worker whose results have not arrived, in the order sent.
    sent: deque[_Entry] = field(default_factory=deque)


# ---------------------------------------------------------------------------------------------
# In a worker process


def _work(
    function: Callable[..., Any],
    extra: tuple[Any, ...],
    chunks: multiprocessing.connection.Connection,
    results: multiprocessing.connection.Connection,
    inherited: tuple[multiprocessing.connection.Connection, ...],
) -> None:
    """Run ``function`` on each chunk from ``chunks`` and send the results, until the pipe
    closes. This is the body of a worker process."""
    # Ctrl-C reaches every process in the terminal's process group. Workers ignore it and the
    # parent stops them, so the user sees one message instead of a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler, and the default one ends it quietly.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A forked worker also inherits the pipe ends of the parent and of earlier workers.
    # Closing them lets the parent see the end of this worker's result pipe when it dies.
    for connection in inherited:
        connection.close()
    outbox: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_results, args=(outbox, results), daemon=True)
    sender.start()
    try:
        while True:
            try:
                message = _read_message(chunks)
            except (EOFError, OSError):
                break
            outbox.put(_result_messages(function, pickle.loads(message), extra))
    finally:
        outbox.put(None)
        sender.join()


def _result_messages(
    function: Callable[..., Any], argument: Any, extra: tuple[Any, ...]
) -> list[bytes]:
    """Run ``function`` on ``argument`` and return the messages that carry the outcome.

    The first message is a pickle of ``(status, value, raw)``. ``raw`` lists the positions in
    a tuple result of the large bytes items left out of the pickle, which follow as messages
    of their own, in that order.
    """
    try:
        result = function(argument, *extra)
        raw = []
        if type(result) is tuple:
            raw = [
                position
                for position, item in enumerate(result)
                if type(item) is bytes and len(item) >= RAW_BYTES
            ]
        if not raw:
            return [pickle.dumps((_OK, result, raw), pickle.HIGHEST_PROTOCOL)]
        rest = tuple(None if position in raw else item for position, item in enumerate(result))
        head = pickle.dumps((_OK, rest, raw), pickle.HIGHEST_PROTOCOL)
        return [head, *(result[position] for position in raw)]
    except Exception as error:
        try:
            return [pickle.dumps((_FAILED, error, []), pickle.HIGHEST_PROTOCOL)]
        except Exception:
            # An exception that cannot be pickled is sent as its type and message.
            stand_in = RuntimeError(f"{type(error).__name__}: {error}")
            return [pickle.dumps((_FAILED, stand_in, []), pickle.HIGHEST_PROTOCOL)]


def _send_results(
    outbox: queue.SimpleQueue[list[bytes] | None],
    results: multiprocessing.connection.Connection,
) -> None:
    while (messages := outbox.get()) is not None:
        try:
            for message in messages:
                _write_message(results, message)
        except OSError:
            # The parent closed the pipe, and it kills this worker next.
            return


# ---------------------------------------------------------------------------------------------
# Messages


def _write_message(connection: multiprocessing.connection.Connection, data: bytes) -> None:
    """Send ``data`` as one message: its length, then its bytes, with no copy of them."""
    if os.name == "nt":
        # Windows pipes are handles, not file descriptors.
        # NOTE: the Windows branches of this module (spawn, send_bytes) have not been run.
        connection.send_bytes(data)
        return
    descriptor = connection.fileno()
    for part in (_LENGTH.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[os.write(descriptor, view) :]


def _read_message(connection: multiprocessing.connection.Connection) -> bytes:
    """Return the next message of ``connection``, read with one copy when it is all there.

    Raises EOFError when the pipe ends before a whole message.
    """
    if os.name == "nt":
        return connection.recv_bytes()
    descriptor = connection.fileno()
    (length,) = _LENGTH.unpack(_read_exactly(descriptor, _LENGTH.size))
    return _read_exactly(descriptor, length)


def _read_exactly(descriptor: int, length: int) -> bytes:
    data = os.read(descriptor, length)
    if len(data) == length:
        return data
    parts = [data]
    missing = length - len(data)
    while missing:
        if not data:
            raise EOFError("the pipe ended in the middle of a message")
        data = os.read(descriptor, missing)
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# In this process


def _grow_pipe(connection: multiprocessing.connection.Connection) -> None:
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        # Above the system's limit the pipe keeps its size, which costs speed, not results.
        with contextlib.suppress(OSError):
            fcntl.fcntl(connection.fileno(), setpipe, PIPE_BYTES)


def _start_workers(
    count: int, function: Callable[..., Any], extra: tuple[Any, ...]
) -> list[_Worker]:
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
                target=_work,
                args=(function, extra, chunks_out, results_in, inherited),
                name="seatcast-worker",
                daemon=True,
            )
            workers.append(_Worker(process, chunks_in, results_out))
            process.start()
            chunks_out.close()
            results_in.close()
    except BaseException:
        _stop_workers(workers)
        raise
    logger.debug("Started %d worker processes", count)
    return workers


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
    message = pickle.dumps(entry.argument, pickle.HIGHEST_PROTOCOL)
    try:
        _write_message(worker.chunks, message)
    except OSError:
        # The worker is gone, so the oldest chunk it had is the first whose result is lost.
        raise worker_died(worker.sent[0].label if worker.sent else entry.label) from None
    entry.argument = None
    entry.worker = worker
    worker.sent.append(entry)


def _receive(worker: _Worker, block: bool) -> bool:
    """Store the result of the oldest chunk sent to ``worker`` in the chunk's entry.

    Returns ``False``, without waiting, when ``block`` is false and the result is not there.
    """
    entry = worker.sent[0]
    if block:
        # Waiting on the sentinel too turns a worker's death into an error instead of a hang.
        ready = multiprocessing.connection.wait([worker.results, worker.process.sentinel])
        if worker.results not in ready:
            raise worker_died(entry.label)
    elif not worker.results.poll():
        return False
    try:
        status, value, raw = pickle.loads(_read_message(worker.results))
        if raw:
            items = list(value)
            for position in raw:
                items[position] = _read_message(worker.results)
            value = tuple(items)
    except (EOFError, OSError, pickle.UnpicklingError):
        # The worker died before it sent the whole result.
        raise worker_died(entry.label) from None
    worker.sent.popleft()
    if status == _FAILED:
        if isinstance(value, SeatcastError):
            raise value
        raise PipelineError(describe_failure(entry.label, value)) from value
    entry.result = value
    entry.done = True
    return True


def _run_here(function: Callable[..., Any], entry: _Entry, extra: tuple[Any, ...]) -> None:
    try:
        entry.result = function(entry.argument, *extra)
    except SeatcastError:
        raise
    except Exception as error:
        raise PipelineError(describe_failure(entry.label, error)) from error
    entry.argument = None
    entry.done = True


def shared_map(
    function: Callable[..., Any],
    items: Iterable[tuple[str, Any]],
    extra: tuple[Any, ...],
    jobs: int,
    max_pending: int,
) -> Iterator[Any]:
    """Yield ``function(argument, *extra)`` for each ``(label, argument)``, in input order,
    with this process and ``jobs - 1`` worker processes sharing the chunks.

    At most ``max_pending`` chunks are read ahead of the result being yielded. The workers
    start when the first result is requested, and are stopped when the iterator is exhausted
    or closed, or raises.
    """
    if jobs < 2:
        raise ValueError(f"shared_map needs at least 2 jobs; got {jobs}")
    workers = _start_workers(jobs - 1, function, extra)
    pending: deque[_Entry] = deque()
    # The chunks of ``pending`` that no process has taken yet, oldest first.
    waiting: deque[_Entry] = deque()
    iterator = iter(items)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < max_pending:
                try:
                    label, argument = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                entry = _Entry(label, argument)
                pending.append(entry)
                waiting.append(entry)
            # Collect the results that have arrived, and refill the workers they came from.
            for worker in workers:
                while worker.sent and _receive(worker, block=False):
                    pass
                while waiting and len(worker.sent) < WORKER_DEPTH:
                    _send(worker, waiting.popleft())
            if not pending:
                return
            front = pending[0]
            if front.done:
                pending.popleft()
                yield front.result
            elif waiting:
                # Every worker has its WORKER_DEPTH chunks, so this process takes the oldest
                # waiting chunk instead of waiting for a result.
                _run_here(function, waiting.popleft(), extra)
            else:
                _receive(front.worker, block=True)
    finally:
        _stop_workers(workers)
