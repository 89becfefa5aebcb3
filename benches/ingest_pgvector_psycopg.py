#!/usr/bin/env python3
"""Baseline for the `ingest_pgvector` bench: Python psycopg3
`COPY ... FROM STDIN (FORMAT BINARY)` of 10k x 768 vectors through the
pgvector Python package, into a table shaped like PgVectorStore's
(id uuid primary key, embedding vector(768), payload jsonb), no vector index.
`--storage plain` gives the vector column the PLAIN storage PgVectorStore
uses (no TOAST), for a like-for-like comparison.

    python3 -m venv ~/.cache/ai-data/bench-venv
    ~/.cache/ai-data/bench-venv/bin/pip install 'psycopg[binary]' pgvector numpy
    ~/.cache/ai-data/bench-venv/bin/python benches/ingest_pgvector_psycopg.py [--url URL]

The URL defaults to AI_DATA_PG_URL, then AI_DATA_TEST_PG_URL, then the local
stores' env file (.stores/env). Prints vectors/s (best and median of --runs).
"""
import argparse
import os
import pathlib
import statistics
import time
import uuid

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb


def default_url():
    for var in ("AI_DATA_PG_URL", "AI_DATA_TEST_PG_URL"):
        if os.environ.get(var):
            return os.environ[var]
    env = pathlib.Path(__file__).resolve().parent.parent / ".stores" / "env"
    for line in env.read_text().splitlines():
        if line.startswith("export AI_DATA_TEST_PG_URL="):
            return line.split("=", 1)[1].strip("'\"")
    raise SystemExit("no PostgreSQL URL: set AI_DATA_PG_URL or run scripts/stores.sh start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--storage",
        choices=["default", "plain"],
        default="default",
        help="the vector column's STORAGE: pgvector's default (EXTENDED) or "
        "PLAIN, as PgVectorStore creates it",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((args.n, args.dim), dtype=np.float32)
    ids = [uuid.uuid4() for _ in range(args.n)]
    payloads = [Jsonb({"cluster": i % 50, "i": i}) for i in range(args.n)]
    rates = []
    with psycopg.connect(args.url or default_url(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for _ in range(args.runs):
            conn.execute("DROP TABLE IF EXISTS bench.ingest_py")
            storage = " STORAGE PLAIN" if args.storage == "plain" else ""
            conn.execute(
                f"CREATE TABLE bench.ingest_py (id uuid PRIMARY KEY, embedding vector({args.dim}){storage} NOT NULL, "
                "payload jsonb NOT NULL)"
            )
            started = time.perf_counter()
            with conn.transaction():
                with conn.cursor().copy(
                    "COPY bench.ingest_py (id, embedding, payload) FROM STDIN WITH (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["uuid", "vector", "jsonb"])
                    for i in range(args.n):
                        copy.write_row((ids[i], vectors[i], payloads[i]))
            rates.append(args.n / (time.perf_counter() - started))
        conn.execute("DROP TABLE IF EXISTS bench.ingest_py")
    print(
        f"psycopg3 COPY BINARY {args.n} x {args.dim} ({args.storage} storage): best {max(rates):.0f} vectors/s, "
        f"median {statistics.median(rates):.0f} vectors/s over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
