"""The home page: what the dataset is, its key numbers, the partnership network."""

from flask import Blueprint

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def index() -> str:
    return "The home page is being built."
