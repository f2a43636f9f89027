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

# Number of raw messages that follow the first message of a result, at its start.
_RAW_COUNT = struct.Struct("!I")

# Signals that stop a run. They are blocked while a worker is forked, so that the handler of
# the command never runs half-way through a fork, and the worker unblocks them once it has
# its own handlers.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


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
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
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
            outbox.put(_result_messages(function, message, extra))
    finally:
        outbox.put(None)
        sender.join()


def _result_messages(
    function: Callable[..., Any], message: bytes, extra: tuple[Any, ...]
) -> list[bytes]:
    """Run ``function`` on the chunk pickled in ``message``, and return the messages that
    carry the outcome.

    The first message is the number of raw messages that follow, then a pickle of
    ``(status, value, raw)``. ``raw`` lists the positions in a tuple result of the large
    bytes items left out of the pickle, which are the raw messages, in that order.
    """
    try:
        result = function(pickle.loads(message), *extra)
        raw: list[int] = []
        if type(result) is tuple:
            raw = [
                position
                for position, item in enumerate(result)
                if type(item) is bytes and len(item) >= RAW_BYTES
            ]
        items = [result[position] for position in raw]
        if raw:
            result = tuple(
                None if position in raw else item for position, item in enumerate(result)
            )
        head = pickle.dumps((_OK, result, raw), pickle.HIGHEST_PROTOCOL)
    # SystemExit and KeyboardInterrupt raised by the function are failures of the chunk too.
    except BaseException as error:
        return [_RAW_COUNT.pack(0) + _pickle_failure(error)]
    return [_RAW_COUNT.pack(len(items)) + head, *items]


def _pickle_failure(error: BaseException) -> bytes:
    """Pickle ``error`` as the failure of a chunk.

    An error that cannot be pickled and rebuilt is replaced by one of its class built from
    its message (so a seatcast error keeps its exit code), or else by a RuntimeError that
    names its class.
    """
    stand_ins: list[Callable[[], BaseException]] = [lambda: error]
    if isinstance(error, SeatcastError):
        stand_ins.append(lambda: type(error)(str(error)))
    for stand_in in stand_ins:
        try:
            message = pickle.dumps((_FAILED, stand_in(), []), pickle.HIGHEST_PROTOCOL)
            pickle.loads(message)
        except Exception:
            continue
        return message
    fallback = RuntimeError(f"{type(error).__name__}: {error}")
    return pickle.dumps((_FAILED, fallback, []), pickle.HIGHEST_PROTOCOL)


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
        except BaseException:
            # The parent would wait for ever for this result, so the worker ends, and the
            # parent reports a dead worker.
            os._exit(1)


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
            with _signals_blocked():
                process.start()
            chunks_out.close()
            results_in.close()
    except BaseException:
        _stop_workers(workers)
        raise
    logger.debug("Started %d worker processes", count)
    return workers


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    # A signal that arrives meanwhile stays pending, and its handler runs once the mask is
    # restored, here in this process.
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
        message = pickle.dumps(entry.argument, pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        raise PipelineError(
            f"cannot send the chunk at {entry.label} to a worker process: "
            f"{type(error).__name__}: {error}. Chunks must be picklable; run with 1 job instead."
        ) from error
    try:
        _write_message(worker.chunks, message)
    except OSError:
        # The worker is gone, so the oldest chunk it had is the first whose result is lost.
        raise worker_died(worker.sent[0].label if worker.sent else entry.label) from None
    entry.argument = None
    entry.worker = worker
    worker.sent.append(entry)


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
        head = _read_message(worker.results)
        (count,) = _RAW_COUNT.unpack_from(head)
        items = [_read_message(worker.results) for _ in range(count)]
    except (EOFError, OSError, struct.error):
        # The worker died before it sent the whole outcome.
        raise worker_died(entry.label) from None
    worker.sent.popleft()
    entry.done = True
    try:
        status, value, raw = pickle.loads(memoryview(head)[_RAW_COUNT.size :])
    except Exception as error:
        entry.error = _chunk_error(entry, error)
        return entry
    if status == _FAILED:
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


def _run_here(function: Callable[..., Any], entry: _Entry, extra: tuple[Any, ...]) -> None:
    try:
        entry.result = function(entry.argument, *extra)
    except Exception as error:
        entry.error = _chunk_error(entry, error)
    entry.argument = None
    entry.done = True


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
) -> Iterator[Any]:
    """Yield ``function(argument, *extra)`` for each ``(label, argument)``, in input order,
    with this process and ``jobs - 1`` worker processes sharing the chunks.

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
    workers = _start_workers(jobs - 1, function, extra)
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
                _run_here(function, entry, extra)
                failed = _earlier_failure(failed, entry)
            else:
                failed = _earlier_failure(failed, _receive(front.worker, block=True))
    finally:
        _stop_workers(workers)
