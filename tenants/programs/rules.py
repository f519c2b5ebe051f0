"""Eligibility rules: a small declarative language, parsed with lark, stored as a JSON tree,
evaluated by a walk over that tree (never `eval`), with an explanation per condition.

    in_dtks and desil <= 4
    age >= 60 or has_disability
    not in_dtks or desil <= 2
    sex == "P" and village_kind in ["desa", "desa_adat"]

Grammar: `or` binds looser than `and`, `not` binds tightest, parentheses group. Conditions are a
true/false field on its own, `field OP value` with OP one of < <= > >= == != (`=` is read as
`==`), or `field in [v, ...]`. Fields and their types come from `tenants.programs.rule_fields`; a field
may be named in English or in Indonesian (`umur >= 60` is `age >= 60`), and the stored tree
always names it in English.

`parse_rule` raises `RuleError` with every problem found, each with line and column, in
Indonesian and English. A fact that is null makes any condition on it false, and the explanation
says the fact was missing.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from slrt.tenants.programs.rule_fields import FIELDS, RuleField, both_names, field_named

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negation
         | atom
?atom: FIELD OP value -> comparison
     | FIELD _IN "[" value ("," value)* "]" -> membership
     | FIELD -> truth
     | "(" or_expr ")"
value: INT | STRING | TRUE | FALSE

_OR: "or"
_AND: "and"
_NOT: "not"
_IN: "in"
TRUE: "true"
FALSE: "false"
OP: /<=|>=|==|!=|<|>|=/
INT: /-?[0-9]+/
STRING: /"[^"\n]*"|'[^'\n]*'/
FIELD: /(?!(and|or|not|in|true|false)\b)[A-Za-z_][A-Za-z0-9_]*/
%import common.WS
%ignore WS
"""

MAX_RULE_LENGTH = 2000
MAX_DEPTH = 30

# How lark's terminal names read to a person, for "expected ..." in syntax errors.
TERMINAL_NAMES = {
    "FIELD": ("nama fakta (mis. desil)", "a field name (e.g. desil)"),
    "OP": (
        "operator pembanding (<, <=, >, >=, ==, !=)",
        "a comparison operator (<, <=, >, >=, ==, !=)",
    ),
    "INT": ("angka", "a number"),
    "STRING": ('teks dalam tanda kutip (mis. "P")', 'quoted text (e.g. "P")'),
    "TRUE": ("true", "true"),
    "FALSE": ("false", "false"),
    "_OR": ("or", "or"),
    "_AND": ("and", "and"),
    "_NOT": ("not", "not"),
    "_IN": ("in", "in"),
    "LPAR": ("(", "("),
    "RPAR": (")", ")"),
    "LSQB": ("[", "["),
    "RSQB": ("]", "]"),
    "COMMA": (",", ","),
}


@dataclass
class RuleProblem:
    line: int
    column: int
    message: str  # Indonesian
    message_en: str

    def as_error(self, field_name: str = "rule") -> dict[str, Any]:
        return {
            "field": field_name,
            "message": f"Baris {self.line}, kolom {self.column}: {self.message}",
            "message_en": f"Line {self.line}, column {self.column}: {self.message_en}",
            "line": self.line,
            "column": self.column,
        }


class RuleError(ValueError):
    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(f"{p.line}:{p.column} {p.message_en}" for p in problems))
        self.problems = problems

    def errors(self, field_name: str = "rule") -> list[dict[str, Any]]:
        return [p.as_error(field_name) for p in self.problems]


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _expected(names: set[str]) -> tuple[str, str]:
    known = [TERMINAL_NAMES[n] for n in sorted(names) if n in TERMINAL_NAMES]
    return ", ".join(k[0] for k in known), ", ".join(k[1] for k in known)


def _syntax_problem(text: str, exc: UnexpectedInput) -> RuleProblem:
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        return RuleProblem(
            exc.line,
            exc.column,
            f"karakter '{char}' tidak dikenal dalam aturan.",
            f"unexpected character '{char}'.",
        )
    assert isinstance(exc, UnexpectedToken)
    exp_id, exp_en = _expected(set(exc.expected))
    if exc.token.type == "$END":
        line, column = _end_position(text)
        return RuleProblem(
            line,
            column,
            f"aturan berhenti di tengah; diharapkan: {exp_id}.",
            f"the rule ends too early; expected: {exp_en}.",
        )
    return RuleProblem(
        exc.line,
        exc.column,
        f"'{exc.token}' tidak diharapkan di sini; diharapkan: {exp_id}.",
        f"unexpected '{exc.token}'; expected: {exp_en}.",
    )


# --- from the lark tree to the stored JSON tree, checking fields and types ---------------------


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[RuleProblem] = []

    def problem(self, token: Token, message: str, message_en: str) -> None:
        self.problems.append(RuleProblem(token.line, token.column, message, message_en))

    def source(self, node: Tree | Token) -> str:
        if isinstance(node, Token):
            return str(node)
        return self.text[node.meta.start_pos : node.meta.end_pos]

    def build(self, node: Tree | Token, depth: int = 0) -> dict[str, Any] | None:
        if depth > MAX_DEPTH:
            token = node if isinstance(node, Token) else _first_token(node)
            self.problem(
                token,
                f"aturan terlalu bersarang (lebih dari {MAX_DEPTH} tingkat).",
                f"the rule is nested too deeply (more than {MAX_DEPTH} levels).",
            )
            return None
        if isinstance(node, Token):  # a lone field, only reached through `truth`
            return self.truth(node)
        kind = node.data
        if kind in ("or_expr", "and_expr"):
            args = [self.build(child, depth + 1) for child in node.children]
            return {
                "type": "or" if kind == "or_expr" else "and",
                "args": args,
                "text": self.source(node),
            }
        if kind == "negation":
            return {
                "type": "not",
                "arg": self.build(node.children[0], depth + 1),
                "text": self.source(node),
            }
        if kind == "truth":
            return self.truth(node.children[0])
        if kind == "comparison":
            name, op, value = node.children
            return self.comparison(name, str(op), value, self.source(node))
        if kind == "membership":
            name, *values = node.children
            return self.membership(name, values, self.source(node))
        raise AssertionError(f"unknown rule node {kind}")

    def field(self, name: Token) -> RuleField | None:
        spec = field_named(str(name))
        if spec is None:
            known = ", ".join(both_names(f) for f in FIELDS.values())
            self.problem(
                name,
                f"fakta '{name}' tidak dikenal; yang tersedia: {known}.",
                f"unknown field '{name}'; available: {known}.",
            )
        return spec

    def truth(self, name: Token) -> dict[str, Any] | None:
        spec = self.field(name)
        if spec is not None and spec.type != "bool":
            example = (
                f"{name} >= 60"
                if spec.type == "int"
                else f'{name} == "{(spec.choices or ("x",))[0]}"'
            )
            self.problem(
                name,
                f"'{name}' bukan fakta ya/tidak; bandingkan dengan nilai, mis. {example}.",
                f"'{name}' is not a true/false field; compare it, e.g. {example}.",
            )
        return {
            "type": "condition",
            "field": _stored(name, spec),
            "op": "is_true",
            "text": str(name),
        }

    def literal(self, spec: RuleField | None, value: Tree, name: Token) -> Any:
        token: Token = value.children[0]
        if token.type == "INT":
            parsed: Any = int(token)
            kind = "int"
        elif token.type == "STRING":
            parsed = str(token)[1:-1]
            kind = "str"
        else:
            parsed = token.type == "TRUE"
            kind = "bool"
        if spec is None:
            return parsed
        if kind != spec.type:
            names = {
                "int": ("angka", "a number"),
                "str": ("teks", "text"),
                "bool": ("true/false", "true/false"),
            }
            self.problem(
                token,
                f"'{name}' membutuhkan {names[spec.type][0]}, bukan {token}.",
                f"'{name}' needs {names[spec.type][1]}, not {token}.",
            )
            return parsed
        if spec.choices and parsed not in spec.choices:
            options = ", ".join(f'"{c}"' for c in spec.choices)
            self.problem(
                token,
                f"nilai {token} tidak mungkin untuk '{name}'; pilih {options}.",
                f"{token} is not a possible value of '{name}'; use {options}.",
            )
        if kind == "int" and (
            (spec.minimum is not None and parsed < spec.minimum)
            or (spec.maximum is not None and parsed > spec.maximum)
        ):
            self.problem(
                token,
                f"'{name}' hanya bernilai {spec.minimum} sampai {spec.maximum}.",
                f"'{name}' only ranges from {spec.minimum} to {spec.maximum}.",
            )
        return parsed

    def comparison(self, name: Token, op: str, value: Tree, text: str) -> dict[str, Any]:
        op = "==" if op == "=" else op
        spec = self.field(name)
        literal = self.literal(spec, value, name)
        if spec is not None and spec.type != "int" and op not in ("==", "!="):
            self.problem(
                value.children[0],
                f"'{name}' hanya dapat dibandingkan dengan == atau !=.",
                f"'{name}' can only be compared with == or !=.",
            )
        return {
            "type": "condition",
            "field": _stored(name, spec),
            "op": op,
            "value": literal,
            "text": text,
        }

    def membership(self, name: Token, values: list[Tree], text: str) -> dict[str, Any]:
        spec = self.field(name)
        literals = [self.literal(spec, v, name) for v in values]
        return {
            "type": "condition",
            "field": _stored(name, spec),
            "op": "in",
            "value": literals,
            "text": text,
        }


def _stored(name: Token, spec: RuleField | None) -> str:
    """The name a condition keeps in the stored tree: the fact's English name."""
    return spec.name if spec is not None else str(name)


def _first_token(tree: Tree) -> Token:
    for token in tree.scan_values(lambda v: isinstance(v, Token)):
        return token
    return Token("FIELD", "", line=1, column=1)


def parse_rule(text: str | None) -> dict[str, Any] | None:
    """The stored form of a rule, or None for no rule (everyone qualifies). Raises RuleError."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(
            [
                RuleProblem(
                    1,
                    MAX_RULE_LENGTH + 1,
                    f"aturan terlalu panjang (maksimum {MAX_RULE_LENGTH} karakter).",
                    f"the rule is too long (at most {MAX_RULE_LENGTH} characters).",
                )
            ]
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise RuleError([_syntax_problem(text, exc)]) from None
    builder = _Builder(text)
    ast = builder.build(tree)
    if builder.problems:
        raise RuleError(sorted(builder.problems, key=lambda p: (p.line, p.column)))
    return ast


def rule_fields_used(ast: dict[str, Any] | None) -> list[str]:
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node["type"] == "condition":
            if node["field"] not in found:
                found.append(node["field"])
        elif node["type"] == "not":
            walk(node["arg"])
        else:
            for arg in node["args"]:
                walk(arg)

    if ast is not None:
        walk(ast)
    return found


# --- evaluation ------------------------------------------------------------------------------

COMPARATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class ConditionResult:
    text: str
    field: str
    op: str
    expected: Any
    value: Any
    held: bool
    missing: bool
    explanation: str  # Indonesian
    explanation_en: str


@dataclass
class Evaluation:
    eligible: bool
    conditions: list[ConditionResult] = field(default_factory=list)
    tree: dict[str, Any] | None = None
    failed: list[str] = field(default_factory=list)  # conditions that made the result false

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "conditions": [c.__dict__ for c in self.conditions],
            "failed": self.failed,
            "tree": self.tree,
        }


def _show(value: Any) -> str:
    if value is None:
        return "kosong"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _condition(node: dict[str, Any], facts: dict[str, Any]) -> ConditionResult:
    name, op, expected = node["field"], node["op"], node.get("value")
    value = facts.get(name)
    text = node["text"]
    if value is None:
        return ConditionResult(
            text,
            name,
            op,
            expected,
            None,
            False,
            True,
            f"{name} tidak diketahui (kosong), sehingga '{text}' dianggap tidak terpenuhi.",
            f"{name} is unknown (null), so '{text}' counts as not met.",
        )
    if op == "is_true":
        held = value is True
    elif op == "in":
        held = value in expected
    else:
        try:
            held = bool(COMPARATORS[op](value, expected))
        except TypeError:
            held = False
    shown = _show(value)
    if held:
        return ConditionResult(
            text,
            name,
            op,
            expected,
            value,
            True,
            False,
            f"{name} = {shown}: '{text}' terpenuhi.",
            f"{name} = {shown}: '{text}' is met.",
        )
    return ConditionResult(
        text,
        name,
        op,
        expected,
        value,
        False,
        False,
        f"{name} = {shown}: '{text}' tidak terpenuhi.",
        f"{name} = {shown}: '{text}' is not met.",
    )


def evaluate(ast: dict[str, Any] | None, facts: dict[str, Any]) -> Evaluation:
    """Walk the stored tree over a person's facts. Every condition is evaluated (no short
    circuit) so the explanation is complete; `failed` lists what made a false result false."""
    if ast is None:
        return Evaluation(eligible=True, conditions=[], tree=None, failed=[])
    conditions: list[ConditionResult] = []

    def walk(node: dict[str, Any]) -> dict[str, Any]:
        kind = node["type"]
        if kind == "condition":
            result = _condition(node, facts)
            conditions.append(result)
            return {
                "type": kind,
                "text": node["text"],
                "held": result.held,
                "missing": result.missing,
            }
        if kind == "not":
            inner = walk(node["arg"])
            return {"type": kind, "text": node["text"], "held": not inner["held"], "arg": inner}
        args = [walk(arg) for arg in node["args"]]
        combine = all if kind == "and" else any
        return {
            "type": kind,
            "text": node["text"],
            "held": combine(a["held"] for a in args),
            "args": args,
        }

    tree = walk(ast)

    def blocking(node: dict[str, Any]) -> list[str]:
        if node["held"]:
            return []
        if node["type"] in ("condition", "not"):
            return [node["text"]]
        return [text for arg in node["args"] if not arg["held"] for text in blocking(arg)]

    return Evaluation(
        eligible=tree["held"], conditions=conditions, tree=tree, failed=blocking(tree)
    )
