"""The baseline: a plain rdflib SPARQL endpoint over the same release, served the simple way
(Flask under gunicorn sync workers). Used only by the benchmark."""

import os

from flask import Flask, Response, request
from rdflib import Dataset

RESULT_TYPES = {"json": "application/sparql-results+json", "turtle": "text/turtle"}


def create_app() -> Flask:
    dataset = Dataset(default_union=True)
    dataset.parse(os.environ["KZCN_BENCH_TRIG"], format="trig")
    app = Flask(__name__)

    @app.route("/sparql")
    def sparql() -> Response:
        result = dataset.query(request.args["query"])
        if result.type in ("CONSTRUCT", "DESCRIBE"):
            return Response(result.serialize(format="turtle"), content_type=RESULT_TYPES["turtle"])
        return Response(result.serialize(format="json"), content_type=RESULT_TYPES["json"])

    return app
