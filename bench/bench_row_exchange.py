"""The bag's row gradients between 2 processes: a dense all-reduce of the (rows x dim+1)
table (into a buffer kept across steps, as core/training/shared_steps.py does, or a new one
each step) against an all_gather of each rank's touched rows (ids + gradients), median ms a
step over 60 (gloo, loopback, one thread each). 20,000 x 50 table, 3,000 touched rows a
rank (a clickbait half-batch of 512 headlines holds ~2,200 distinct words, measured).

    python bench/bench_row_exchange.py
"""
from __future__ import annotations

import datetime
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

ROWS, DIM, TOUCHED, STEPS = 20_000, 50, 3_000, 60
TIMEOUT = datetime.timedelta(seconds=60)


def _dense(rows: torch.Tensor, values: torch.Tensor, table: torch.Tensor | None = None) -> None:
    if table is None:
        table = torch.zeros(ROWS, DIM + 1)
    else:
        table.zero_()
    table[rows, :-1] = values
    table[rows, -1] = 1.0  # the touched-row mark, as core/training/shared_steps.py sends
    dist.all_reduce(table)


def _sparse(rows: torch.Tensor, values: torch.Tensor, world: int) -> None:
    counts = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(counts, torch.tensor([len(rows)]))
    longest = int(max(c.item() for c in counts))
    mine = torch.zeros(longest, DIM + 1)
    mine[:len(rows), 0], mine[:len(rows), 1:] = rows.to(torch.float32), values
    gathered = [torch.zeros(longest, DIM + 1) for _ in range(world)]
    dist.all_gather(gathered, mine)
    table = torch.zeros(ROWS, DIM)
    for part, count in zip(gathered, counts):
        n = int(count)
        table.index_add_(0, part[:n, 0].long(), part[:n, 1:])


def _measure(rank: int, world: int, store) -> None:
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(rank)
    rows = torch.randperm(ROWS, generator=gen)[:TOUCHED]
    values = torch.randn(TOUCHED, DIM, generator=gen)
    medians = {}
    kept = torch.zeros(ROWS, DIM + 1)
    for name, step in (("dense all-reduce, kept buffer", lambda: _dense(rows, values, kept)),
                       ("dense all-reduce, new buffer", lambda: _dense(rows, values)),
                       ("all_gather of rows", lambda: _sparse(rows, values, world))):
        times = []
        for _ in range(STEPS):
            dist.barrier()
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        medians[name] = sorted(times)[len(times) // 2] * 1000
    if rank == 0:
        print(", ".join(f"{name}: {ms:.2f} ms" for name, ms in medians.items()))
    dist.destroy_process_group()


def _child(rank: int, world: int, port: int) -> None:
    store = dist.TCPStore("127.0.0.1", port, world, is_master=False, timeout=TIMEOUT)
    _measure(rank, world, store)


def main() -> None:
    store = dist.TCPStore("127.0.0.1", 0, 2, is_master=True, timeout=TIMEOUT,
                          wait_for_workers=False)
    child = mp.get_context("spawn").Process(target=_child, args=(1, 2, store.port))
    child.start()
    _measure(0, 2, store)
    child.join()


if __name__ == "__main__":
    main()
