"""What runs in a worker process of :mod:`seatcast.pool`, and the messages of its pipes.

A worker reads a chunk, gives the function's exchange what the other processes learned, runs
the function, and sends back the outcome with what it learned itself. A message is its length
(8 bytes), then its bytes. A chunk is one message: a pickle of the chunk and of the lessons
of other processes, each of them pickled on its own. An outcome is a first message that starts
with the number of raw messages that follow, then a pickle of ``(status, value, raw
positions, lessons)``. Large bytes items of a tuple result travel as the raw messages, outside
the pickle.
"""

from __future__ import annotations

import multiprocessing.connection
import os
import pickle
import queue
import selectors
import signal
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from seatcast.errors import SeatcastError

__all__ = [
    "FAILED",
    "LENGTH",
    "OK",
    "RAW_BYTES",
    "RAW_COUNT",
    "STOP_SIGNALS",
    "Exchange",
    "Task",
    "read_message",
    "work",
    "write_message",
]

# Items of a tuple result that are bytes of at least this length travel as messages of their
# own, so that neither process copies them into or out of a pickle. A chunk's JSON Lines are
# about 400 KB.
RAW_BYTES = 64 * 1024

OK = 0
FAILED = 1

# Length of a message, before its bytes, on POSIX pipes.
LENGTH = struct.Struct("!Q")

# Number of raw messages that follow the first message of a result, at its start.
RAW_COUNT = struct.Struct("!I")

# Signals that stop a run. They are blocked while a worker is forked, so that the handler of
# the command never runs half-way through a fork, and the worker unblocks them once it has
# its own handlers.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Exchange(Protocol):
    """An object that passes what the processes of a pool learn while they run chunks
    between them.

    Each process calls :meth:`open` before its first chunk, and :meth:`take` after each
    chunk it runs. What ``take`` returns reaches every other process, which passes it to
    :meth:`give` before its next chunk. This process calls :meth:`close` when the map ends.
    A memo of costly work, such as a cache of cleaned words, is then filled once for all
    processes instead of once in each. An exchange must be picklable where workers are
    spawned.
    """

    def open(self) -> None:
        """Start recording what this process learns."""

    def take(self) -> Any:
        """Return what this process learned since the last call (picklable), or ``None``."""

    def give(self, lessons: Any) -> None:
        """Absorb what another process returned from :meth:`take`."""

    def close(self) -> None:
        """Stop recording, in this process."""


@dataclass(frozen=True)
class Task:
    """The function every process runs as ``function(chunk, *extra)``, and its exchange."""

    function: Callable[..., Any]
    extra: tuple[Any, ...]
    exchange: Exchange | None


# ---------------------------------------------------------------------------------------------
# In a worker process


def work(
    task: Task,
    chunks: multiprocessing.connection.Connection,
    results: multiprocessing.connection.Connection,
    inherited: tuple[multiprocessing.connection.Connection, ...],
) -> None:
    """Run ``task`` on each chunk from ``chunks`` and send the results, until the pipe
    closes. This is the body of a worker process."""
    # Ctrl-C reaches every process in the terminal's process group. Workers ignore it and the
    # parent stops them, so the user sees one message instead of a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler, and the default one ends it quietly.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    # A forked worker also inherits the pipe ends of the parent and of earlier workers.
    # Closing them lets the parent see the end of this worker's result pipe when it dies.
    for connection in inherited:
        connection.close()
    if task.exchange is not None:
        task.exchange.open()
    if os.name == "nt":
        _serve_with_sender(task, chunks, results)
    else:
        _serve(task, chunks, results)


def _serve(
    task: Task,
    chunks: multiprocessing.connection.Connection,
    results: multiprocessing.connection.Connection,
) -> None:
    """Run the chunks that arrive and write their results, in one thread, until the parent
    closes either pipe.

    Results are written without blocking. When the result pipe is full, the worker waits
    until the parent reads from it or sends a chunk, and runs that chunk before writing on.
    """
    descriptor = results.fileno()
    os.set_blocking(descriptor, False)
    # The bytes not yet written: each message's length, then the message.
    unsent: deque[memoryview] = deque()
    with selectors.DefaultSelector() as selector:
        selector.register(chunks.fileno(), selectors.EVENT_READ)
        selector.register(descriptor, selectors.EVENT_WRITE)
        while True:
            try:
                _write_some(descriptor, unsent)
            except OSError:
                # The parent closed the pipe, and it kills this worker next.
                return
            if unsent and any(key.fd == descriptor for key, _ in selector.select()):
                continue
            try:
                message = read_message(chunks)
            except (EOFError, OSError):
                return
            for data in result_messages(task, message):
                unsent += (memoryview(LENGTH.pack(len(data))), memoryview(data))


def _write_some(descriptor: int, unsent: deque[memoryview]) -> None:
    """Write from the front of ``unsent`` until it is empty or the pipe is full."""
    while unsent:
        try:
            written = os.write(descriptor, unsent[0])
        except BlockingIOError:
            return
        if written < len(unsent[0]):
            unsent[0] = unsent[0][written:]
        else:
            unsent.popleft()


def _serve_with_sender(
    task: Task,
    chunks: multiprocessing.connection.Connection,
    results: multiprocessing.connection.Connection,
) -> None:
    """Like :func:`_serve`, for Windows pipes, which cannot be written without blocking: a
    second thread sends the results."""
    outbox: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_results, args=(outbox, results), daemon=True)
    sender.start()
    try:
        while True:
            try:
                message = read_message(chunks)
            except (EOFError, OSError):
                break
            outbox.put(result_messages(task, message))
    finally:
        outbox.put(None)
        sender.join()


def result_messages(task: Task, message: bytes) -> list[bytes]:
    """Run ``task`` on the chunk in ``message``, and return the messages that carry the
    outcome.

    ``message`` is a pickle of the chunk and of the pickled lessons of other processes. The first
    message returned is the number of raw messages that follow, then a pickle of
    ``(status, value, raw, lessons)``. ``raw`` lists the positions in a tuple result of the
    large bytes items left out of the pickle, which are the raw messages, in that order.
    ``lessons`` is what this worker learned on the chunk.
    """
    try:
        argument, lessons = pickle.loads(message)
        exchange = task.exchange
        if exchange is not None:
            for lesson in lessons:
                exchange.give(pickle.loads(lesson))
        result = task.function(argument, *task.extra)
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
        learned = exchange.take() if exchange is not None else None
        head = pickle.dumps((OK, result, raw, learned), pickle.HIGHEST_PROTOCOL)
    # SystemExit and KeyboardInterrupt raised by the function are failures of the chunk too.
    except BaseException as error:
        return [RAW_COUNT.pack(0) + pickle_failure(error)]
    return [RAW_COUNT.pack(len(items)) + head, *items]


def pickle_failure(error: BaseException) -> bytes:
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
            message = pickle.dumps((FAILED, stand_in(), [], None), pickle.HIGHEST_PROTOCOL)
            pickle.loads(message)
        except Exception:
            continue
        return message
    fallback = RuntimeError(f"{type(error).__name__}: {error}")
    return pickle.dumps((FAILED, fallback, [], None), pickle.HIGHEST_PROTOCOL)


def _send_results(
    outbox: queue.SimpleQueue[list[bytes] | None],
    results: multiprocessing.connection.Connection,
) -> None:
    while (messages := outbox.get()) is not None:
        try:
            for message in messages:
                write_message(results, message)
        except OSError:
            # The parent closed the pipe, and it kills this worker next.
            return
        except BaseException:
            # The parent would wait for ever for this result, so the worker ends, and the
            # parent reports a dead worker.
            os._exit(1)


# ---------------------------------------------------------------------------------------------
# Messages


def write_message(connection: multiprocessing.connection.Connection, data: bytes) -> None:
    """Send ``data`` as one message: its length, then its bytes, with no copy of them."""
    if os.name == "nt":
        # Windows pipes are handles, not file descriptors.
        # NOTE: the Windows branches of this module (spawn, send_bytes) have not been run.
        connection.send_bytes(data)
        return
    descriptor = connection.fileno()
    for part in (LENGTH.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[os.write(descriptor, view) :]


def read_message(connection: multiprocessing.connection.Connection) -> bytes:
    """Return the next message of ``connection``, read with one copy when it is all there.

    Raises EOFError when the pipe ends before a whole message.
    """
    if os.name == "nt":
        return connection.recv_bytes()
    descriptor = connection.fileno()
    (length,) = LENGTH.unpack(_read_exactly(descriptor, LENGTH.size))
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
