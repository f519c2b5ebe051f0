"""`slrt worker` (background jobs, fair between districts) and `slrt scheduler` (scheduled work,
the outbox relay and recovery; several may run, one is active)."""

from __future__ import annotations

import logging

import click

from slrt.platform.jobs.scheduler import run_scheduler


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when no job is left.")
def worker(burst: bool) -> None:
    """Run a background job worker."""
    from slrt.platform.jobs.worker import run_worker

    run_worker(burst=burst)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run one round and stop.")
def scheduler(once: bool) -> None:
    """Run the job scheduler (schedules, outbox relay, retries, recovery); one is active."""
    logging.basicConfig(level=logging.INFO)
    run_scheduler(once=once)
