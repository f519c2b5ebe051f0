"""Where rq found the job runner before it moved to `slrt.platform.jobs.runner`: rq stores the
function's dotted path in each queued job, so jobs queued by an older release still run here."""

from slrt.platform.jobs.runner import run_job

__all__ = ["run_job"]
