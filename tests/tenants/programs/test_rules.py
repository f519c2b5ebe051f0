"""The eligibility rule language: parsing, refusals with positions, safe explained evaluation."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slrt.tenants.programs.rule_fields import FIELDS
from slrt.tenants.programs.rules import RuleError, evaluate, parse_rule, rule_fields_used

POOR_ELDER = {
    "in_dtks": True,
    "desil": 2,
    "age": 67,
    "sex": "P",
    "has_disability": False,
    "is_head_of_family": True,
    "household_size": 3,
    "has_school_age_children": False,
    "village_is_intervention": True,
    "village_kind": "desa",
}


@pytest.mark.parametrize(
    ("rule", "facts", "eligible"),
    [
        ("in_dtks and desil <= 4", POOR_ELDER, True),
        ("in_dtks and desil <= 4", {**POOR_ELDER, "desil": 5}, False),
        ("age >= 60", POOR_ELDER, True),
        ("age >= 60", {**POOR_ELDER, "age": 59}, False),
        ("has_disability", POOR_ELDER, False),
        ("not in_dtks or desil <= 2", POOR_ELDER, True),
        ("not in_dtks or desil <= 2", {**POOR_ELDER, "desil": 3}, False),
        ("not in_dtks or desil <= 2", {**POOR_ELDER, "in_dtks": False, "desil": None}, True),
        ('sex == "P"', POOR_ELDER, True),
        ("sex = 'L'", POOR_ELDER, False),
        ('village_kind in ["desa", "desa_adat"] and village_is_intervention', POOR_ELDER, True),
        ("household_size > 3 or (is_head_of_family and age != 67)", POOR_ELDER, False),
        ("in_dtks == false", POOR_ELDER, False),
        ("not not in_dtks", POOR_ELDER, True),
    ],
)
def test_rules_evaluate(rule: str, facts: dict, eligible: bool) -> None:
    assert evaluate(parse_rule(rule), facts).eligible is eligible


def test_precedence_or_looser_than_and() -> None:
    ast = parse_rule("has_disability or in_dtks and desil <= 1")
    assert ast["type"] == "or"
    assert ast["args"][1]["type"] == "and"
    assert evaluate(ast, {**POOR_ELDER, "has_disability": True, "desil": 9}).eligible


def _problem(rule: str) -> dict:
    with pytest.raises(RuleError) as err:
        parse_rule(rule)
    errors = err.value.errors()
    assert all(e["field"] == "rule" for e in errors)
    return errors[0] if len(errors) == 1 else {"all": errors}


def test_unknown_field_is_refused_with_its_position() -> None:
    error = _problem("in_dtks and\n  desl <= 4")
    assert (error["line"], error["column"]) == (2, 3)
    assert error["message"].startswith("Baris 2, kolom 3: fakta 'desl' tidak dikenal")
    assert error["message_en"].startswith("Line 2, column 3: unknown field 'desl'")


def test_bad_syntax_is_refused_with_its_position() -> None:
    error = _problem("desil <= ")
    assert (error["line"], error["column"]) == (1, 10)
    assert "berhenti di tengah" in error["message"] and "angka" in error["message"]
    assert "ends too early" in error["message_en"]
    error = _problem("age >= 60 and and has_disability")
    assert (error["line"], error["column"]) == (1, 15)
    assert "'and' tidak diharapkan" in error["message"]
    error = _problem("desil ~ 4")
    assert (error["line"], error["column"]) == (1, 7)
    assert "karakter '~'" in error["message"]
    error = _problem("(in_dtks and desil <= 4")
    assert "ends too early" in error["message_en"] and ")" in error["message_en"]


def test_types_and_ranges_are_checked() -> None:
    assert "bukan fakta ya/tidak" in _problem("age")["message"]
    assert "needs a number" in _problem('desil <= "4"')["message_en"]
    assert "only ranges from 1 to 10" in _problem("desil <= 11")["message_en"]
    assert 'use "L", "P"' in _problem('sex == "W"')["message_en"]
    assert "only be compared with == or !=" in _problem('sex > "L"')["message_en"]
    several = _problem('desil <= 11 and sex == "X"')["all"]
    assert [(e["line"], e["column"]) for e in several] == [(1, 10), (1, 24)]


def test_no_code_runs_from_a_rule() -> None:
    for hostile in (
        "__import__('os').system('true')",
        "age.__class__",
        "age >= 60; import os",
        "lambda: 1",
        "[x for x in ()]",
    ):
        with pytest.raises(RuleError):
            parse_rule(hostile)


def test_empty_rule_means_everyone() -> None:
    assert parse_rule("  ") is None
    result = evaluate(None, {})
    assert result.eligible and result.conditions == []


def test_stored_form_is_json_and_names_its_fields() -> None:
    ast = parse_rule("in_dtks and (desil <= 4 or age >= 60)")
    assert json.loads(json.dumps(ast)) == ast
    assert rule_fields_used(ast) == ["in_dtks", "desil", "age"]


def test_explanation_says_which_condition_failed_and_the_value() -> None:
    result = evaluate(parse_rule("in_dtks and desil <= 4"), {**POOR_ELDER, "desil": 6})
    assert not result.eligible
    assert result.failed == ["desil <= 4"]
    by_text = {c.text: c for c in result.conditions}
    assert by_text["in_dtks"].held and by_text["in_dtks"].value is True
    assert not by_text["desil <= 4"].held and by_text["desil <= 4"].value == 6
    assert by_text["desil <= 4"].explanation == "desil = 6: 'desil <= 4' tidak terpenuhi."
    assert by_text["desil <= 4"].explanation_en == "desil = 6: 'desil <= 4' is not met."


def test_missing_facts_make_comparisons_false_and_say_so() -> None:
    result = evaluate(parse_rule("in_dtks and desil <= 4"), {"in_dtks": True, "desil": None})
    assert not result.eligible
    desil = result.conditions[1]
    assert desil.missing and not desil.held and desil.value is None
    assert "tidak diketahui (kosong)" in desil.explanation
    assert "unknown (null)" in desil.explanation_en
    # Absent from the facts altogether counts the same as null.
    assert evaluate(parse_rule("age >= 60"), {}).conditions[0].missing


def test_or_explains_every_branch() -> None:
    result = evaluate(
        parse_rule("age >= 60 or has_disability"), {"age": 40, "has_disability": False}
    )
    assert result.failed == ["age >= 60", "has_disability"]
    assert result.tree["held"] is False and len(result.tree["args"]) == 2


_facts = st.fixed_dictionaries(
    {
        name: st.none()
        | (
            st.booleans()
            if spec.type == "bool"
            else st.integers(spec.minimum, spec.maximum)
            if spec.type == "int"
            else st.sampled_from(spec.choices)
        )
        for name, spec in FIELDS.items()
    }
)


# How fast inputs are drawn depends on how busy the machine is, not on the rules under test.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_facts)
def test_evaluation_matches_plain_python(facts: dict) -> None:
    """The evaluator agrees with the same rule written by hand (null comparisons are false)."""
    ast = parse_rule('not in_dtks or desil <= 2 and (age >= 60 or sex == "P")')

    def cmp(value, op):
        return value is not None and op(value)

    expected = facts["in_dtks"] is not True or (
        cmp(facts["desil"], lambda v: v <= 2)
        and (cmp(facts["age"], lambda v: v >= 60) or cmp(facts["sex"], lambda v: v == "P"))
    )
    assert evaluate(ast, facts).eligible is expected


_tokens = st.sampled_from(
    [
        *FIELDS,
        "and",
        "or",
        "not",
        "in",
        "(",
        ")",
        "[",
        "]",
        ",",
        "<=",
        ">=",
        "==",
        "!=",
        "<",
        ">",
        "=",
        "1",
        "4",
        "60",
        '"P"',
        '"desa"',
        "true",
        "false",
        "\n",
        "~",
        "@",
        "'x",
        "x",
    ]
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_tokens, max_size=12).map(" ".join) | st.text(max_size=40))
def test_any_input_is_parsed_or_refused_with_a_position(text: str) -> None:
    try:
        ast = parse_rule(text)
    except RuleError as err:
        for error in err.errors():
            assert error["line"] >= 1 and error["column"] >= 1
            assert error["message"].startswith(f"Baris {error['line']}, kolom {error['column']}")
        return
    evaluate(ast, {})  # whatever parsed also evaluates, with every fact unknown


def test_facts_may_be_named_in_indonesian_and_are_stored_in_english() -> None:
    indonesian = parse_rule(
        'umur >= 60 and terdaftar_dtks and desil <= 4 and jenis_kelamin == "P" '
        'and not disabilitas and jenis_desa in ["desa", "desa_adat"]'
    )
    english = parse_rule(
        'age >= 60 and in_dtks and desil <= 4 and sex == "P" '
        'and not has_disability and village_kind in ["desa", "desa_adat"]'
    )
    assert rule_fields_used(indonesian) == rule_fields_used(english)
    assert rule_fields_used(indonesian) == [
        "age",
        "in_dtks",
        "desil",
        "sex",
        "has_disability",
        "village_kind",
    ]
    assert evaluate(indonesian, POOR_ELDER).eligible is evaluate(english, POOR_ELDER).eligible
    assert evaluate(indonesian, POOR_ELDER).eligible is True
    # The text stays as typed, so the explanation quotes the rule as the admin wrote it.
    first = evaluate(indonesian, POOR_ELDER).conditions[0]
    assert first.text == "umur >= 60" and first.field == "age" and first.held


def test_every_fact_has_its_own_indonesian_name() -> None:
    names = [spec.name_id for spec in FIELDS.values()]
    assert all(names) and len(set(names)) == len(names)
    assert not (set(names) - {"desil"}) & set(FIELDS)


def test_problems_name_the_fact_as_typed_and_list_both_names() -> None:
    with pytest.raises(RuleError) as wrong_type:
        parse_rule('umur == "tua"')
    assert "'umur' membutuhkan angka" in wrong_type.value.problems[0].message
    with pytest.raises(RuleError) as unknown:
        parse_rule("usia >= 60")
    problem = unknown.value.problems[0]
    assert (problem.line, problem.column) == (1, 1)
    assert "age (umur)" in problem.message and "in_dtks (terdaftar_dtks)" in problem.message_en
