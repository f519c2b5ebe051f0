"""`python -m tests.platform.jobs.worker_main`: a real `slrt worker` that also knows the test handlers."""

import tests.platform.jobs.handlers  # noqa: F401  (registers the test job kinds)
from slrt.platform.jobs.worker import run_worker

if __name__ == "__main__":
    run_worker()
