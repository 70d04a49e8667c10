"""kzcn-kg: the knowledge graph of Kazakhstan–China academic cooperation.

The package has two halves that meet only through files on disk: `server.build` turns
`ontology/`, `data/` and `shapes/` into a release under `build/`; the web application made by
`create_app` serves what the current release contains.
"""

from flask import Flask

from .config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """The Flask application factory: one current release, one cache, one blueprint per
    concern."""
    from . import example_pages, fastpath, ops, security
    from .cache import LruCache
    from .current_release import EXTENSION, CurrentRelease, PinnedExamples, PinRelease
    from .pages import classes, dumps, errors, home, languages, ontology_docs, resources
    from .search import views as search_views
    from .sparql.service import QueryService
    from .sparql.views import blueprint as sparql_blueprint

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        KZCN_SETTINGS=settings,
        # Form-encoded queries grow up to 3× when percent-encoded.
        MAX_CONTENT_LENGTH=4 * settings.max_query_bytes,
    )
    # The release in use changes when a new one is published (current_release.py). A request
    # reads its own through current_release.served(); KZCN_RELEASE is the current one, for
    # code outside requests.
    holder = CurrentRelease(settings, lambda served: app.config.update(KZCN_RELEASE=served.release))
    app.extensions[EXTENSION] = holder
    app.extensions["kzcn_queries"] = QueryService(
        holder.pinned, LruCache(settings.cache_bytes), settings
    )
    app.extensions["kzcn_examples"] = PinnedExamples(holder)
    app.register_blueprint(sparql_blueprint)
    app.register_blueprint(example_pages.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(resources.blueprint)
    app.register_blueprint(classes.blueprint)
    app.register_blueprint(dumps.blueprint)
    app.register_blueprint(ontology_docs.blueprint)
    app.register_blueprint(search_views.blueprint)
    languages.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    fastpath.init_app(app)
    metrics = ops.init_app(app)
    # Outermost first: every request is logged and counted, pinned to one release, and
    # repeats are answered from memory.
    fast = fastpath.ResponseCache(app.wsgi_app, settings.cache_bytes)
    app.extensions["kzcn_fastpath"] = fast
    app.wsgi_app = ops.AccessLog(PinRelease(fast, holder), metrics)  # type: ignore[method-assign]
    return app
