"""Schemas and helpers for eligibility rules in the API (used by the tenant and platform
program routes): validating a submitted rule, the facts a caller may submit, and the
explanation returned by an evaluation."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from slrt.platform.api import Schema, Text
from slrt.platform.errors import Problem
from slrt.tenants.programs.rule_fields import FIELDS
from slrt.tenants.programs.rules import RuleError, parse_rule


def parse_rule_or_422(text: str | None, field: str = "rule_text") -> dict[str, Any] | None:
    """The stored form of a submitted rule; a bad rule answers 422 with line and column."""
    try:
        return parse_rule(text)
    except RuleError as exc:
        raise Problem(422, errors=exc.errors(field)) from None


def _fact_field(spec) -> fields.Field:
    meta = {"description": f"{spec.description} / {spec.description_en}"}
    if spec.type == "bool":
        return fields.Boolean(allow_none=True, metadata=meta)
    if spec.type == "int":
        return fields.Integer(
            allow_none=True,
            strict=True,
            validate=validate.Range(min=spec.minimum, max=spec.maximum),
            metadata=meta,
        )
    return Text(
        allow_none=True,
        validate=validate.OneOf(spec.choices) if spec.choices else None,
        metadata=meta,
    )


# A person's facts, as the service flow computes them; anything left out counts as unknown.
FactsSchema = Schema.from_dict(
    {name: _fact_field(spec) for name, spec in FIELDS.items()}, name="FactsSchema"
)


class RuleFieldSchema(Schema):
    name = Text(dump_only=True)
    type = Text(dump_only=True, metadata={"enum": ["bool", "int", "str"]})
    description = Text(dump_only=True)
    description_en = Text(dump_only=True)
    choices = fields.List(Text(), dump_only=True)
    minimum = fields.Integer(dump_only=True, allow_none=True)
    maximum = fields.Integer(dump_only=True, allow_none=True)


class ConditionResultSchema(Schema):
    text = Text(dump_only=True, metadata={"example": "desil <= 4"})
    field = Text(dump_only=True)
    op = Text(dump_only=True)
    expected = fields.Raw(dump_only=True)
    value = fields.Raw(dump_only=True, metadata={"description": "The person's value"})
    held = fields.Boolean(dump_only=True)
    missing = fields.Boolean(dump_only=True, metadata={"description": "The fact was unknown"})
    explanation = Text(dump_only=True)
    explanation_en = Text(dump_only=True)


class EvaluationSchema(Schema):
    eligible = fields.Boolean(dump_only=True)
    conditions = fields.List(fields.Nested(ConditionResultSchema), dump_only=True)
    failed = fields.List(
        Text(),
        dump_only=True,
        metadata={"description": "The conditions that made the result false"},
    )
    tree = fields.Dict(dump_only=True, allow_none=True)


class RuleCheckSchema(Schema):
    rule_text = Text(required=True, validate=validate.Length(max=2000))
    facts = fields.Nested(FactsSchema, metadata={"description": "Optional: evaluate for these"})


class RuleCheckResultSchema(Schema):
    valid = fields.Boolean(dump_only=True)
    rule_ast = fields.Dict(dump_only=True, allow_none=True)
    fields_used = fields.List(Text(), dump_only=True)
    evaluation = fields.Nested(EvaluationSchema, dump_only=True, allow_none=True)


def check_rule(data: dict[str, Any]) -> dict[str, Any]:
    from slrt.tenants.programs.rules import evaluate, rule_fields_used

    ast = parse_rule_or_422(data["rule_text"])
    result: dict[str, Any] = {
        "valid": True,
        "rule_ast": ast,
        "fields_used": rule_fields_used(ast),
        "evaluation": None,
    }
    if "facts" in data:
        result["evaluation"] = evaluate(ast, data["facts"]).as_dict()
    return result


def rule_field_rows() -> list[dict[str, Any]]:
    return [spec.__dict__ for spec in FIELDS.values()]
