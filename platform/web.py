"""The web shell: the landing page, and what every signed-in page shares. Role pages live with
their areas (`<area>/web.py`)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


def no_store(blueprint: Blueprint) -> Blueprint:
    """Signed-in pages must not come back from the browser's cache (the back button) after
    sign-out: every answer of `blueprint` is sent with Cache-Control: no-store."""

    @blueprint.after_request
    def _not_stored(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint
