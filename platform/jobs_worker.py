"""Background job worker entry point."""

from __future__ import annotations

from rq import Queue, Worker

from slrt.platform.redis_client import get_redis


def run_worker(burst: bool = False) -> None:
    conn = get_redis()
    Worker([Queue("default", connection=conn)], connection=conn).work(burst=burst)
