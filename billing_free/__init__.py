"""billing_free: free plans (Rp 0) with quotas, usage metering and monthly statements.

- `plans`: plans, the plan a district is on, plan changes with history.
- `quotas`: the one enforcement module every feature calls (count, rate, daily, jobs cap).
- `meter`: hot-path usage counters in Redis and their idempotent flush to PostgreSQL.
- `funding`: village code -> funding source, for the statements' split.
- `statements`: monthly statements (JSON, CSV, PDF).
- `api`, `platform_api`, `hooks`, `cli`: the district routes, Kemensos routes, request hooks and
  the `slrt plans` / `slrt usage` commands.
"""
