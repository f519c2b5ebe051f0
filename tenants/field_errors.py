"""Field errors of a 422/403 problem, built one way: each message Indonesian first, English too."""

from __future__ import annotations

from slrt.platform.errors import Msg, Problem


def field_errors(field: str, problems: list[Msg]) -> list[dict[str, str]]:
    return [{"field": field, "message": str(p), "message_en": p.en} for p in problems]


def field_problem(status: int, field: str, message: Msg) -> Problem:
    return Problem(status, errors=field_errors(field, [message]))
