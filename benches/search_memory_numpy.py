#!/usr/bin/env python3
"""numpy baseline for benches/search_memory.rs: exact top-10 over the same
shape (100,000 x 768 float32, uniform [0, 1) components), scored by BLAS
(`X @ q`, i.e. sgemv) and selected with `argpartition`, then sorted.

Prints milliseconds per query (mean and best of the timed repetitions) and
the bytes read per second. See benches/README.md for how to run it:

    python3 -m venv /tmp/ai-data-bench-venv
    /tmp/ai-data-bench-venv/bin/pip install numpy threadpoolctl
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        /tmp/ai-data-bench-venv/bin/python benches/search_memory_numpy.py
"""

import argparse
import time

import numpy as np


def top_k(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest inner products (= smallest `dot` distances), best first."""
    scores = x @ q
    idx = np.argpartition(-scores, k)[:k]
    return idx[np.argsort(-scores[idx])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads (0: numpy's default)")
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    x = rng.random((args.rows, args.dim), dtype=np.float32)
    queries = rng.random((8, args.dim), dtype=np.float32)

    limiter = None  # keeps a thread limit in force while alive
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        if args.threads:
            limiter = threadpool_limits(limits=args.threads)
        for pool in threadpool_info():
            print(
                f"BLAS: {pool.get('internal_api')} {pool.get('version')} "
                f"threads={pool.get('num_threads')} kernel={pool.get('architecture')}"
            )
    except ImportError:
        print("threadpoolctl not installed: BLAS library and thread count not shown")

    for q in queries[:3]:  # warm up
        top_k(x, q, args.k)
    times = []
    for i in range(args.reps):
        start = time.perf_counter()
        top_k(x, queries[i % len(queries)], args.k)
        times.append(time.perf_counter() - start)
    mean, best = sum(times) / len(times), min(times)
    gb = x.nbytes / 1e9
    print(
        f"numpy {np.__version__}: {args.rows} x {args.dim} float32, top-{args.k}: "
        f"mean {mean * 1e3:.2f} ms/query, best {best * 1e3:.2f} ms/query "
        f"({gb / mean:.1f} GB/s mean, {gb / best:.1f} GB/s best)"
    )
    del limiter


if __name__ == "__main__":
    main()
