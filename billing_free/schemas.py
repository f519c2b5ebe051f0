"""marshmallow schemas of the billing_free API (platform and district routes)."""

from __future__ import annotations

from marshmallow import fields, validate

from slrt.platform.api import PatchSchema, Schema
from slrt.platform.input_guard import INT32_MAX, INT64_MAX

KEY_RE = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


def _quota_field(required: bool, minimum: int, maximum: int = INT32_MAX) -> fields.Integer:
    return fields.Integer(required=required, validate=validate.Range(min=minimum, max=maximum))


class PlanSchema(Schema):
    id = fields.Integer(dump_only=True)
    key = fields.String(required=True, validate=[validate.Length(2, 40), validate.Regexp(KEY_RE)])
    name = fields.String(required=True, validate=validate.Length(2, 120))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    price_idr = fields.Integer(dump_only=True)
    duration_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3650))
    is_default = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)
    max_accounts = _quota_field(True, 0)
    max_puskesos = _quota_field(True, 0)
    max_storage_bytes = _quota_field(True, 0, INT64_MAX)
    api_requests_per_minute = _quota_field(True, 1)
    max_concurrent_jobs = _quota_field(True, 1)
    import_rows_per_day = _quota_field(True, 0, INT64_MAX)
    exports_per_day = _quota_field(True, 0)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PlanUpdateSchema(PatchSchema):
    """PATCH: any subset of the editable fields. The key identifies the plan and never changes."""

    name = fields.String(validate=validate.Length(2, 120))
    description = fields.String(validate=validate.Length(max=2000))
    duration_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3650))
    is_default = fields.Boolean()
    active = fields.Boolean()
    max_accounts = _quota_field(False, 0)
    max_puskesos = _quota_field(False, 0)
    max_storage_bytes = _quota_field(False, 0, INT64_MAX)
    api_requests_per_minute = _quota_field(False, 1)
    max_concurrent_jobs = _quota_field(False, 1)
    import_rows_per_day = _quota_field(False, 0, INT64_MAX)
    exports_per_day = _quota_field(False, 0)


class PlanAssignSchema(Schema):
    plan = fields.String(required=True, validate=validate.Regexp(KEY_RE))
    reason = fields.String(required=True, validate=validate.Length(3, 1000))
    expires_on = fields.Date(allow_none=True)


class QuotaLimitSchema(Schema):
    quota = fields.String()
    label = fields.String()
    label_en = fields.String()
    limit = fields.Integer()


class PlanPeriodSchema(Schema):
    plan = fields.String(attribute="plan_key")
    plan_name = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    reason = fields.String()
    actor_label = fields.String()


class CurrentPlanSchema(Schema):
    plan = fields.String()
    name = fields.String()
    price_idr = fields.Integer()
    expires_on = fields.Date(allow_none=True)
    quotas = fields.List(fields.Nested(QuotaLimitSchema))
    history = fields.List(fields.Nested(PlanPeriodSchema))


class QuotaStatusSchema(Schema):
    quota = fields.String()
    label = fields.String()
    label_en = fields.String()
    limit = fields.Integer()
    used = fields.Integer(allow_none=True)
    level = fields.String(metadata={"description": "ok, warning (>= 80%) or limit"})


class UsageNowSchema(Schema):
    plan = fields.String()
    plan_name = fields.String()
    day = fields.Date()
    quotas = fields.List(fields.Nested(QuotaStatusSchema))
    today = fields.Dict(keys=fields.String(), values=fields.Integer())
    month_to_date = fields.Dict(keys=fields.String(), values=fields.Integer())


class UsageDailySchema(Schema):
    day = fields.Date()
    metric = fields.String()
    village_code = fields.String()
    funding_source = fields.String()
    value = fields.Integer()


class UsageDailyQuerySchema(Schema):
    since = fields.Date()
    until = fields.Date()
    metric = fields.String()


class NoticeSchema(Schema):
    code = fields.String(
        metadata={"description": "quota.warning, quota.limit, job.held, plan.ending, plan.ended"}
    )
    job_id = fields.String()
    level = fields.String()
    quota = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)
    limit = fields.Integer(allow_none=True)
    used = fields.Integer(allow_none=True)
    message = fields.String()
    message_en = fields.String()


class FundingValueSchema(Schema):
    funding_source = fields.String()
    label = fields.String()
    label_en = fields.String()
    value = fields.Integer()


class UsageLineSchema(Schema):
    metric = fields.String()
    label = fields.String()
    label_en = fields.String()
    kind = fields.String()
    total = fields.Integer()
    by_funding = fields.List(fields.Nested(FundingValueSchema))
    price_idr = fields.Integer()


class StatementPlanSchema(Schema):
    key = fields.String()
    name = fields.String()
    price_idr = fields.Integer()
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    expires_on = fields.Date(allow_none=True)
    reason = fields.String()
    quotas = fields.List(fields.Nested(QuotaLimitSchema))


class StatementTenantSchema(Schema):
    code = fields.String()
    slug = fields.String()
    name = fields.String()


class StatementSchema(Schema):
    tenant = fields.Nested(StatementTenantSchema)
    month = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    final = fields.Boolean()
    currency = fields.String()
    plans = fields.List(fields.Nested(StatementPlanSchema))
    lines = fields.List(fields.Nested(UsageLineSchema))
    total_idr = fields.Integer()
    generated_at = fields.DateTime()


class StatementMonthSchema(Schema):
    month = fields.String()
    final = fields.Boolean()
    total_idr = fields.Integer()


class MonthQuerySchema(Schema):
    month = fields.String(validate=validate.Regexp(MONTH_RE))


class SummaryTenantSchema(Schema):
    code = fields.String()
    slug = fields.String()
    name = fields.String()
    province_code = fields.String()
    plan = fields.String(allow_none=True)
    usage = fields.Dict(keys=fields.String(), values=fields.Integer())
    total_idr = fields.Integer()


class NationalSummarySchema(Schema):
    month = fields.String()
    tenants = fields.List(fields.Nested(SummaryTenantSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_funding = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer())
    )
    plans = fields.Dict(keys=fields.String(), values=fields.Integer())
    total_idr = fields.Integer()
