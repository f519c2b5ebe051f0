"""`python -m tests.tenants.registry.slow_worker_main`: a real `slrt worker` whose registry import
writes in small batches with a pause after each, so that a page can be seen following it (the
batches and their checkpoints are the real ones, only smaller and slower)."""

import time

from slrt.platform.jobs.worker import run_worker
from slrt.platform.tabular import import_job
from slrt.tenants.registry.jobs import RegistryWriter

BATCH = 10
PAUSE = 0.7  # seconds after each batch

import_job.run_import_job.__kwdefaults__["batch_size"] = BATCH
_write = RegistryWriter.__call__


def _slow_write(self, batch, prepared=None):
    written = _write(self, batch, prepared)
    time.sleep(PAUSE)
    return written


RegistryWriter.__call__ = _slow_write

if __name__ == "__main__":
    run_worker()
