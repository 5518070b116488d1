"""The bag's row gradients between 2 processes: a dense all-reduce of the (rows x dim+1)
table against an all_gather of each rank's touched rows (ids + gradients), median ms a
step over 60 (gloo, loopback, one thread each). 20,000 x 50 table, 3,000 touched rows a
rank (a clickbait half-batch of 512 headlines holds ~2,200 distinct words, measured).

    python bench/bench_row_exchange.py
"""
import os, sys, time, datetime, torch, torch.distributed as dist
import torch.multiprocessing as mp

def work(rank, world, port, q):
    store = dist.TCPStore("127.0.0.1", port, world, is_master=False, timeout=datetime.timedelta(seconds=60), wait_for_workers=False) if rank else None
    run(rank, world, store, q)

def run(rank, world, store, q):
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world)
    torch.set_num_threads(1)
    V, d, used = 20000, 50, 3000
    g = torch.Generator().manual_seed(rank)
    dense = torch.zeros(V, d + 1)
    rows = torch.randperm(V, generator=g)[:used]
    vals = torch.randn(used, d)
    res = {}
    for name in ("dense", "sparse"):
        times = []
        for i in range(60):
            dist.barrier()
            t = time.perf_counter()
            if name == "dense":
                dense.zero_(); dense[rows, :-1] = vals; dense[rows, -1] = 1
                dist.all_reduce(dense)
            else:
                n = torch.tensor([used]); ns = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
                dist.all_gather(ns, n)
                m = int(max(x.item() for x in ns))
                buf = torch.zeros(m, d + 1); buf[:used, 0] = rows.float(); buf[:used, 1:] = vals
                out = [torch.zeros(m, d + 1) for _ in range(world)]
                dist.all_gather(out, buf)
                acc = torch.zeros(V, d); 
                for o, k in zip(out, ns):
                    k = int(k); acc.index_add_(0, o[:k, 0].long(), o[:k, 1:])
            times.append(time.perf_counter() - t)
        times.sort(); res[name] = times[len(times)//2] * 1000
    if rank == 0: print(res)
    dist.destroy_process_group()

if __name__ == "__main__":
    store = dist.TCPStore("127.0.0.1", 0, 2, is_master=True, timeout=datetime.timedelta(seconds=60), wait_for_workers=False)
    p = mp.get_context("spawn").Process(target=work, args=(1, 2, store.port, None)); p.start()
    run(0, 2, store, None); p.join()
