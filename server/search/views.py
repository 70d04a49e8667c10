"""/search and /reconcile."""

from flask import Blueprint

blueprint = Blueprint("search", __name__)


@blueprint.get("/search")
def search() -> str:
    return "Search is being built."
