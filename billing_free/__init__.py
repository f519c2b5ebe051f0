"""billing_free: free plans (Rp 0) with quotas, usage metering and monthly statements.

- `plans`: the quotas a plan sets, the standard plans, the plan a district is on and its history.
- `actions`: the writes: plans created and changed, districts moved between plans.
- `quotas`: the one enforcement module every feature calls (count, rate, daily, jobs cap).
- `meter`: hot-path usage counters in Redis and their idempotent flush to PostgreSQL.
- `funding`: village code -> funding source, for the statements' split.
- `statements`: monthly statements (JSON, CSV, PDF); `summary`: the national usage summary.
- `access`: the districts a Kemensos or provincial caller may see.
- `api`, `platform_api`, `hooks`, `cli`: the district routes, Kemensos routes, request hooks and
  the `slrt plans` / `slrt usage` commands.
"""
