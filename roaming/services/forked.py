"""Worker processes forked from this one, for CPU work that threads cannot spread over cores.

A sync page costs more Python (JSON, validation, rows) than anything else, and Python threads
share one interpreter lock: only processes use the other cores. `ForkPool` forks its workers
from the calling process, so they already hold everything the work needs (Django set up, the
partner, the encoder) and start in milliseconds; jobs and results cross a pipe, pickled.

Rules that keep forking safe here:
- fork before starting any thread of our own (the pool is started first);
- a worker never touches the database: it inherits the parent's connection objects and must
  neither use nor close them (closing a PostgreSQL connection sends the server a goodbye that
  would end the parent's session), so it keeps them referenced and leaves with `os._exit`;
- a worker handles its jobs in the order sent and answers each with a result or the exception
  it raised; a worker that dies is reported as `WorkerLost`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory) before answering."""


class _Failure:
    """An exception raised in a worker, carried back to be raised in the parent."""

    def __init__(self, error: BaseException) -> None:
        try:
            pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, round-tripped in memory
            self.error: BaseException = error
        except Exception:  # noqa: BLE001 - an exception that cannot cross the pipe is described instead
            self.error = RuntimeError(f"{type(error).__name__}: {error}")


def can_fork() -> bool:
    return hasattr(os, "fork")


class ForkPool:
    """`processes` workers, each running `work(job)` for the jobs `submit`ted to it, in order."""

    def __init__(self, work: Callable[[Any], Any], processes: int) -> None:
        self._work = work
        self._processes = processes
        self._workers: list[tuple[int, Connection, Connection]] = []  # (pid, jobs, results)

    def __len__(self) -> int:
        return len(self._workers)

    def start(self) -> ForkPool:
        for _ in range(self._processes):
            jobs_read, jobs_write = os.pipe()
            results_read, results_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(jobs_write)
                os.close(results_read)
                for _pid, jobs, results in self._workers:  # its siblings' pipes are not its own
                    jobs.close()
                    results.close()
                self._serve(Connection(jobs_read, writable=False), Connection(results_write, readable=False))
            os.close(jobs_read)
            os.close(results_write)
            self._workers.append((pid, Connection(jobs_write, readable=False), Connection(results_read, writable=False)))
        return self

    def _serve(self, jobs: Connection, results: Connection) -> None:
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            while True:
                try:
                    job = jobs.recv()
                except EOFError:
                    break
                try:
                    result = self._work(job)
                except BaseException as error:  # noqa: BLE001 - carried back to the parent
                    result = _Failure(error)
                results.send(result)
        except BaseException:  # noqa: BLE001 - the parent went away (broken pipe): just leave
            code = 1
        finally:
            os._exit(code)  # no atexit, no finalizers: the inherited connections stay untouched

    def submit(self, worker: int, job: Any) -> None:
        """Send `job` to worker number `worker` (blocks while that worker is busy)."""
        try:
            self._workers[worker][1].send(job)
        except OSError as error:
            raise WorkerLost(f"sync worker {worker + 1} is gone ({error})") from error

    def result(self, worker: int) -> Any:
        """The next result of worker number `worker`, or the exception it raised."""
        try:
            result = self._workers[worker][2].recv()
        except (EOFError, OSError) as error:
            raise WorkerLost(f"sync worker {worker + 1} died before answering") from error
        if isinstance(result, _Failure):
            raise result.error
        return result

    def close(self) -> None:
        """Stop the workers (a busy one is killed: its job no longer matters) and reap them.

        Killed first, pipes closed after: a thread blocked sending a job then fails with a
        broken pipe instead of writing to a descriptor number that may have been reused.
        """
        for pid, _, _ in self._workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid, _, _ in self._workers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for _, jobs, results in self._workers:
            jobs.close()
            results.close()
        self._workers = []

    def __enter__(self) -> ForkPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
