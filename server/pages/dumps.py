"""/dumps/ and the dataset's metadata: VoID, DCAT, sitemap.xml, robots.txt."""

from flask import Blueprint

blueprint = Blueprint("dumps", __name__)


@blueprint.get("/dumps/")
def index() -> str:
    return "Downloads are being built."
