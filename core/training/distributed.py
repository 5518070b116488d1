"""One run trained by several processes with ``torch.distributed``.

Rank 0 is the process that runs ``train_run`` as usual: it prepares the data, writes the run
(snapshots, metrics, progress, its record) and evaluates. The other ranks write nothing:
they receive rank 0's prepared data (``Group.share``: the same split, vocabulary, step-0
table; for a streamed data set the path of the same memory-mapped row-id file), build the
same model and take their part of every global batch; the gradients are summed across
ranks (``core.training.shared_steps``), so every rank applies the same step and the tables
stay equal. Rank 0 decides when training ends (early stopping) and tells the others
(``Group.decide``); a cancel travels with the gradients, so every rank stops at the same
step.

Two launchers share this: ``spawned`` (``python -m core train --processes N``: rank 0 is the
calling process, ranks 1..N-1 are ``torch.multiprocessing`` spawn children, rendezvous on a
loopback ``TCPStore`` with a free port) and ``from_environment`` (``torchrun``: RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). A rank that fails writes its one-line
error into the rendezvous store before it exits; its peers' next collective fails at once
(the connection closes) and raises ``RankFailed`` with that line.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Iterator

import torch
import torch.distributed as dist

from core.errors import CancelledError, ExplorerError
from core.training.config import DistributedConfig

ERROR_KEY = "explorer/failed"  # the first failing rank's message, in the rendezvous store
_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class RankFailed(RuntimeError):
    """Another rank of the run failed (its message), or the connection to it broke."""


def resolve_device(choice: str) -> torch.device:
    """``auto``: CUDA when torch sees a device, else the CPU; ``cuda`` without one is refused."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ExplorerError("device: 'cuda' was asked for but torch sees no CUDA device "
                            "(use --device cpu or auto)")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
    return torch.device("cuda", index)


def backend_for(device: torch.device) -> str:
    """gloo on the CPU, NCCL for CUDA tensors."""
    return "nccl" if device.type == "cuda" else "gloo"


class Group:
    """This process's place in the run: ``rank`` of ``world``, the ``device`` collectives use,
    and the rendezvous ``store`` (for a failing rank's message)."""

    def __init__(self, rank: int, world: int, device: torch.device, store) -> None:
        self.rank, self.world, self.device, self.store = rank, world, device, store

    @property
    def leader(self) -> bool:
        """Rank 0: the one process that writes."""
        return self.rank == 0

    def shard(self, lo: int, hi: int) -> tuple[int, int]:
        """This rank's contiguous part of the global batch lo..hi-1 (may be empty)."""
        n = hi - lo
        return lo + n * self.rank // self.world, lo + n * (self.rank + 1) // self.world

    def sum_(self, flat: torch.Tensor) -> torch.Tensor:
        """``flat`` summed over the ranks, in place (through the device's backend)."""
        on_device = flat.to(self.device)
        self._call(dist.all_reduce, on_device, op=dist.ReduceOp.SUM)
        if on_device is not flat:
            flat.copy_(on_device.cpu())
        return flat

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's ``tensor`` (same shape on every rank), in rank order."""
        mine = tensor.to(self.device)
        out = [torch.empty_like(mine) for _ in range(self.world)]
        self._call(dist.all_gather, out, mine)
        return [t.cpu() for t in out]

    def share(self, obj: Any = None) -> Any:
        """Rank 0's ``obj``, on every rank (pickled)."""
        box = [obj]
        self._call(dist.broadcast_object_list, box, src=0,
                   device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def decide(self, flag: bool = False) -> bool:
        """Rank 0's ``flag`` (e.g. "training ends after this epoch"), on every rank."""
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        self._call(dist.broadcast, value, src=0)
        return bool(value.item())

    def fail(self, exc: BaseException) -> None:
        """Leave this rank's error for the others (the first one written stays)."""
        message = f"rank {self.rank}: {type(exc).__name__}: {exc}".splitlines()[0]
        try:
            if not self.store.check([ERROR_KEY]):
                self.store.set(ERROR_KEY, message)
        except (RuntimeError, OSError):
            pass  # the store's host is gone: the others see the broken connection instead

    def _call(self, collective, *args, **kwargs) -> None:
        try:
            collective(*args, **kwargs)
        except RuntimeError as exc:  # a peer exited (its socket closed) or timed out
            raise RankFailed(self._peer_message(exc)) from exc

    def _peer_message(self, exc: RuntimeError) -> str:
        try:
            if self.store.check([ERROR_KEY]):
                return self.store.get(ERROR_KEY).decode("utf-8", "replace")
        except (RuntimeError, OSError):
            pass
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"another process of the run stopped ({first})"

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


def _join(rank: int, world: int, host: str, port: int, config: DistributedConfig) -> Group:
    """Join the run's process group through the TCPStore at host:port (rank 0 hosts it)."""
    timeout = timedelta(seconds=config.timeout)
    store = dist.TCPStore(host, port, world, is_master=rank == 0, timeout=timeout,
                          wait_for_workers=False)
    return _init(rank, world, store, config)


def _init(rank: int, world: int, store, config: DistributedConfig) -> Group:
    device = resolve_device(config.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend_for(device), store=store, rank=rank, world_size=world,
                            timeout=timedelta(seconds=config.timeout))
    return Group(rank, world, device, store)


def torchrun_ranks() -> tuple[int, int] | None:
    """(rank, world size) when this process was started by torchrun (or any launcher that
    sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT), else None."""
    if not all(name in os.environ for name in _TORCHRUN_VARS):
        return None
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


def from_environment(config: DistributedConfig) -> Group:
    """Join the group torchrun describes. The rendezvous store is a TCPStore at MASTER_ADDR,
    one port above MASTER_PORT (torchrun's own store holds MASTER_PORT), hosted by rank 0."""
    rank, world = torchrun_ranks()
    return _join(rank, world, os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]) + 1,
                 config)


def _spawned_rank(rank: int, world: int, port: int, config: DistributedConfig,
                  target=None) -> None:
    """A spawn child's life: join, follow rank 0 (``target``: another follower), leave.
    Ctrl-C and SIGTERM reach the whole process group: only rank 0 acts on them (its cancel
    travels with the next step), so every rank stops at the same step. A broken connection
    means rank 0 ended: it reports, this rank just leaves."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    group = _join(rank, world, "127.0.0.1", port, config)
    try:
        follow(group, target)
    except RankFailed:
        sys.exit(1)
    finally:
        group.close()


@contextmanager
def spawned(config: DistributedConfig, target=None) -> Iterator[Group]:
    """This process as rank 0 of ``config.processes``, the others spawned children running
    ``follow`` (``target``: another picklable follower, e.g. in a test). The children are
    ended when the block ends, whatever way it ends."""
    import torch.multiprocessing as mp

    timeout = timedelta(seconds=config.timeout)
    store = dist.TCPStore("127.0.0.1", 0, config.processes, is_master=True, timeout=timeout,
                          wait_for_workers=False)  # port 0: the system picks a free one
    context = mp.get_context("spawn")
    children = [context.Process(target=_spawned_rank, daemon=True,
                                args=(rank, config.processes, store.port, config, target))
                for rank in range(1, config.processes)]
    for child in children:
        child.start()
    group = None
    try:
        group = _init(0, config.processes, store, config)
        yield group
    finally:
        if group is not None:
            group.close()
        for child in children:
            child.join(timeout=10)
            if child.is_alive():  # rank 0 failed first: nothing is left for it to do
                child.terminate()
                child.join()


@contextmanager
def ranks(config: DistributedConfig) -> Iterator[Group | None]:
    """Rank 0's group for a run: torchrun's when this process was started by it, spawned
    children for ``config.processes`` > 1, else None (one process, nothing shared)."""
    if torchrun_ranks() is not None:
        group = from_environment(config)
        try:
            yield group
        finally:
            group.close()
    elif config.processes > 1:
        with spawned(config) as group:
            yield group
    else:
        yield None


def _follow_run(group: Group) -> None:
    from core.training.trainer import follow_run

    follow_run(group, group.share())


def follow(group: Group, body=None) -> None:
    """A rank other than 0: receive the run, train its part of every batch, write nothing
    (``body(group)``: what it does instead). A cancel ends it quietly; any other error is
    left for rank 0, then re-raised."""
    try:
        (body or _follow_run)(group)
    except CancelledError:
        return
    except RankFailed:
        raise  # another rank failed first: its message is the one in the store
    except BaseException as exc:
        group.fail(exc)
        raise


def follow_environment(config: DistributedConfig) -> None:
    """A torchrun rank other than 0 (``python -m core train ...`` started by torchrun)."""
    group = from_environment(config)
    try:
        follow(group)
    finally:
        group.close()
