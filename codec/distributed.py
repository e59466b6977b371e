"""Many processes, one encode: the ``torchrun`` job an nvc process belongs to, and its shared board.

``torchrun`` (torch.distributed's elastic launcher) starts one process per rank and tells each its
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and where the job's key-value store is (``MASTER_ADDR``,
``MASTER_PORT``).  nvc joins that store with torch.distributed's own ``env://`` rendezvous and uses
nothing else of it: what ranks exchange are coded groups (bytes) and a few counters, so the job
needs no process group, no collective and no NCCL, and a rank that finishes early waits on nothing
but the values it needs.

Every wait on another rank is bounded: each process beats a counter in the store every
:data:`HEARTBEAT_SECONDS`, and a rank whose counter stands still for ``timeout`` seconds is
reported, with what it was doing, instead of being waited for forever.  A rank that fails posts its
error, so the others stop at their next group instead of fitting for nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import EXIT_RUNTIME, CodecRuntimeError, NvcError, UsageError

__all__ = ["Job", "Board", "RankFailedError", "RankLostError", "HEARTBEAT_SECONDS", "DEFAULT_RANK_TIMEOUT",
           "MAX_RANK_TIMEOUT",
           "current_job", "job_rank"]

HEARTBEAT_SECONDS = 2.0
DEFAULT_RANK_TIMEOUT = 300.0
"""Seconds a rank's heartbeat may stand still before the job gives it up (``--rank-timeout``)."""
MAX_RANK_TIMEOUT = 7 * 24 * 3600.0
"""A week: longer is "forever", which a job must never wait."""
_POLL_SECONDS = 0.2
_RENDEZVOUS_TIMEOUT = timedelta(minutes=10)
_PREFIX = "nvc/"
_joined: Job | None = None


class RankFailedError(NvcError):
    """Another rank of the job failed; carries that rank's exit code and message."""

    def __init__(self, rank: int, message: str, exit_code: int) -> None:
        super().__init__(f"rank {rank} failed: {message}")
        self.exit_code = exit_code


class RankLostError(CodecRuntimeError):
    """Another rank stopped beating (killed, hung, its machine gone)."""


def job_rank() -> int | None:
    """This process's rank when it was started as one of several (``WORLD_SIZE`` > 1), else None; reads
    only the environment, so the command line can ask before importing torch."""
    return _env_int("RANK", 0) if _env_int("WORLD_SIZE", 1) > 1 else None


def current_job(timeout: float = DEFAULT_RANK_TIMEOUT) -> Job:
    """This process's job (joined on first use and kept: a second rendezvous would host the store again)."""
    global _joined
    if _joined is None:
        _joined = Job.from_environment(timeout)
    _joined.timeout = timeout
    return _joined


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return int(text) if text else default
    except ValueError:
        raise UsageError(f"environment variable {name}={text!r} is not an integer") from None


@dataclass
class Job:
    """This process's place in the job: rank ``rank`` of ``world_size`` (a single process: 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    store: Any = field(default=None, repr=False)
    timeout: float = DEFAULT_RANK_TIMEOUT
    _boards: int = field(default=0, repr=False)
    _beating: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, timeout: float = DEFAULT_RANK_TIMEOUT) -> Job:
        """Join the torchrun job this process was started in; a single-process job when there is none."""
        world_size = _env_int("WORLD_SIZE", 1)
        if world_size <= 1:
            return cls(timeout=timeout)
        rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
        if not 0 <= rank < world_size:
            raise UsageError(f"RANK={rank} outside 0..{world_size - 1}")
        import torch.distributed as dist

        try:
            store, _, _ = next(dist.rendezvous("env://", rank, world_size, timeout=_RENDEZVOUS_TIMEOUT))
        except (ValueError, RuntimeError) as exc:  # missing MASTER_ADDR, nobody listening, timed out
            raise UsageError(f"cannot join the torchrun job as rank {rank} of {world_size}: {exc}") from None
        job = cls(rank, world_size, local_rank, dist.PrefixStore(_PREFIX, store), timeout)
        job._start_heartbeat()
        return job

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def owner(self, item: int) -> int:
        """The rank that does work item ``item`` (a segment): items go round robin."""
        return item % self.world_size

    def owns(self, item: int) -> bool:
        return self.owner(item) == self.rank

    def board(self) -> Board:
        """A fresh board for the next piece of shared work; every rank must ask for boards in the same order."""
        if self.store is None:
            raise RuntimeError("a single-process job has no board")
        import torch.distributed as dist

        self._boards += 1
        return Board(dist.PrefixStore(f"{self._boards}/", self.store), self)

    def _start_heartbeat(self) -> None:
        key, store = f"beat/{self.rank}", self.store

        def beat() -> None:
            while True:
                try:
                    store.add(key, 1)
                except Exception:  # the store's host is gone: the job is over, nothing to beat for
                    return
                time.sleep(HEARTBEAT_SECONDS)

        self._beating = threading.Thread(target=beat, name="nvc-heartbeat", daemon=True)
        self._beating.start()

    def beats(self, rank: int) -> int:
        return int(self.store.add(f"beat/{rank}", 0))


class Board:
    """One shared piece of work's keys in the job's store: values posted by one rank, awaited by others."""

    def __init__(self, store: Any, job: Job) -> None:
        self._store, self._job = store, job
        self._seen: dict[int, tuple[int, float]] = {}

    @property
    def job(self) -> Job:
        return self._job

    def post(self, key: str, value: bytes | str) -> None:
        self._store.set(key, value)

    def add(self, key: str, amount: int) -> int:
        return int(self._store.add(key, amount))

    def doing(self, what: str) -> None:
        """Say what this rank is working on, for the message if it is lost."""
        self.post(f"doing/{self._job.rank}", what)

    def fail(self, error: BaseException) -> None:
        """Tell the other ranks this one failed (best effort: the store may be gone too)."""
        code = error.exit_code if isinstance(error, NvcError) else EXIT_RUNTIME
        message = str(error) or type(error).__name__
        try:
            self.post(f"failed/{self._job.rank}", json.dumps({"exit_code": code, "message": message}))
        except Exception:
            pass

    def check_others(self) -> None:
        """Raise :class:`RankFailedError` if another rank has posted a failure."""
        for rank in range(self._job.world_size):
            if rank != self._job.rank and self._store.check([f"failed/{rank}"]):
                failure = json.loads(self._store.get(f"failed/{rank}"))
                raise RankFailedError(rank, failure["message"], int(failure["exit_code"]))

    def wait(self, key: str, owner: int, on_poll: Callable[[], None] | None = None) -> bytes:
        """The value of ``key``, posted by rank ``owner``: waits while the owner is alive, fails fast when
        any rank posts a failure, and gives the owner up after ``timeout`` seconds without a heartbeat."""
        try:
            while not self._store.check([key]):
                self.check_others()
                self._check_alive(owner)
                if on_poll is not None:
                    on_poll()
                time.sleep(_POLL_SECONDS)
            return bytes(self._store.get(key))
        except RuntimeError as exc:  # torch's DistStoreError: the store's host (rank 0 or torchrun) is gone
            raise RankLostError(f"lost the job's store while waiting for rank {owner}: {exc}") from None

    def _check_alive(self, rank: int) -> None:
        beats, now = self._job.beats(rank), time.monotonic()
        last_beats, since = self._seen.get(rank, (-1, now))
        if beats != last_beats:
            self._seen[rank] = (beats, now)
        elif now - since > self._job.timeout:
            what = (self._store.get(f"doing/{rank}").decode() if self._store.check([f"doing/{rank}"])
                    else "starting")
            raise RankLostError(f"rank {rank} stopped responding for {self._job.timeout:.0f} s while {what}; "
                                "rerun the same command with --resume")
