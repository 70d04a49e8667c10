"""The query editor page at /sparql: YASGUI served from our own origin, configured by a JSON
block rather than inline script, with a plain form when the editor's assets are missing.

The served vendor files come from `make assets` (npm); without them these tests fail rather
than skip, since a release without the editor would otherwise pass unnoticed."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import render_template

from server.vocab import PREFIXES

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CONFIG_ID = "kzcn-editor-config"
VENDOR_FILES = {
    "vendor/yasgui/yasgui.min.js": "text/javascript",
    "vendor/yasgui/yasgui.min.css": "text/css",
}
OWN_FILES = {"editor.js": "text/javascript", "editor.css": "text/css"}
JAVASCRIPT_TYPES = ("text/javascript", "application/javascript")
EXAMPLES = [
    {
        "name": "who-signed-with-whom",
        "title": "Who signed with whom",
        "query": "SELECT ?a ?b WHERE { ?a kzcn:partner ?b }",
    },
    {
        "name": "research-domains",
        "title": "Research domains",
        "query": "SELECT ?d WHERE { ?d a kzcn:ResearchDomain }",
    },
]
BREAKOUT = "</script><script>alert(1)</script>"


class Page(HTMLParser):
    """What the tests look at in a page: every start tag with its attributes, and the text of
    the JSON configuration block."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.config_text: str | None = None
        self._in_config = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script" and attributes.get("id") == CONFIG_ID:
            self._in_config, self.config_text = True, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_config = False

    def handle_data(self, data: str) -> None:
        if self._in_config:
            self.config_text = (self.config_text or "") + data

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attributes for name, attributes in self.tags if name == tag]

    @property
    def config(self) -> dict:
        assert self.config_text is not None, f"no <script id={CONFIG_ID}> in the page"
        return json.loads(self.config_text)


def render(app, **variables) -> str:
    """The template as the view renders it, with these variables instead of the view's."""
    values = {
        "yasgui": True,
        "endpoint": "http://localhost/sparql",
        "prefixes": PREFIXES,
        "examples": EXAMPLES,
        **variables,
    }
    with app.test_request_context("/sparql", headers={"Accept": BROWSER_ACCEPT}):
        return render_template("editor.html", **values)


def outside_config(html: str) -> str:
    """The page without the JSON block, whose values (the endpoint, the prefixes' IRIs) are
    data, not addresses the page loads."""
    start = html.index(f'<script type="application/json" id="{CONFIG_ID}">')
    end = html.index("</script>", start)
    return html[:start] + html[end:]


def assert_loads_nothing_from_elsewhere(html: str) -> None:
    page = Page(html)
    for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src")):
        for attributes in page.all(tag):
            address = attributes.get(attribute)
            if address is not None:
                assert address.startswith("/") and not address.startswith("//"), (
                    f"<{tag} {attribute}={address!r}> is not on our own origin"
                )
    rest = outside_config(html) if page.config_text is not None else html
    assert "http://" not in rest and "https://" not in rest
    # No inline executable script and no inline event handler, so that a CSP of
    # script-src 'self' can be set: scripts are files or JSON data.
    for attributes in page.all("script"):
        assert attributes.get("src") or attributes.get("type") == "application/json"
    for tag, attributes in page.tags:
        handlers = [name for name in attributes if name.startswith("on")]
        assert not handlers, f"<{tag}> has inline event handlers {handlers}"


def assert_explains_the_endpoint(html: str) -> None:
    page = Page(html)
    assert page.all("h1")
    text = " ".join(html.split())
    assert "read-only" in text
    assert "10 s" in text
    for graph in ("ontology", "data", "inferred", "metadata"):
        assert graph in text
    links = [attributes.get("href") for attributes in page.all("a")]
    assert "/sparql?format=ttl" in links, "no link to the service description"


# --- the editor page -----------------------------------------------------------------------


def test_editor_loads_yasgui_and_our_files_from_our_origin(app):
    html = render(app)
    page = Page(html)
    scripts = [attributes["src"] for attributes in page.all("script") if attributes.get("src")]
    styles = [
        attributes["href"]
        for attributes in page.all("link")
        if attributes.get("rel") == "stylesheet"
    ]
    # YASGUI first: editor.js uses it. Both deferred, so they run in this order after parsing.
    assert scripts == ["/static/vendor/yasgui/yasgui.min.js", "/static/editor.js"]
    assert all("defer" in attributes for attributes in page.all("script") if "src" in attributes)
    assert styles == ["/static/vendor/yasgui/yasgui.min.css", "/static/editor.css"]
    assert [attributes.get("id") for attributes in page.all("main")] == ["kzcn-editor"]
    assert_loads_nothing_from_elsewhere(html)
    assert_explains_the_endpoint(html)


def test_editor_config_carries_endpoint_prefixes_and_examples(app):
    config = Page(render(app)).config
    assert config == {
        "endpoint": "http://localhost/sparql",
        "prefixes": PREFIXES,
        "examples": EXAMPLES,
    }


def test_editor_page_keeps_a_plain_form_for_browsers_without_javascript(app):
    page = Page(render(app))
    # The form sits inside <noscript>; html.parser reads its content as markup all the same.
    assert [attributes.get("action") for attributes in page.all("form")] == ["/sparql"]


def test_a_title_or_query_cannot_break_out_of_the_json_block(app):
    hostile = [
        {"name": "x", "title": f"Evil {BREAKOUT}", "query": f"# {BREAKOUT}\nASK {{}}"},
        {"name": "y", "title": "<!-- <script>", "query": "SELECT * { ?s ?p '&amp;' }"},
    ]
    html = render(app, examples=hostile)
    assert "alert(1)</script>" not in html
    assert "<script>alert" not in html
    page = Page(html)
    # Still exactly the two script files and the JSON block: nothing was injected.
    assert len(page.all("script")) == 3
    assert page.config["examples"] == hostile


# --- the fallback without YASGUI ----------------------------------------------------------


def test_without_yasgui_the_page_is_the_plain_form(app):
    html = render(app, yasgui=False)
    page = Page(html)
    assert page.all("script") == [], "the fallback must work without JavaScript"
    assert "vendor/yasgui" not in html
    assert "rich query editor is unavailable" in " ".join(html.split())
    (form,) = page.all("form")
    assert form.get("method") == "post"
    assert form.get("action") == "/sparql"
    assert [attributes.get("name") for attributes in page.all("textarea")] == ["query"]
    assert [attributes.get("name") for attributes in page.all("select")] == ["format"]
    options = [attributes.get("value") for attributes in page.all("option")]
    assert options == ["json", "xml", "csv", "tsv"]
    assert_loads_nothing_from_elsewhere(html)
    assert_explains_the_endpoint(html)


def test_the_fallback_form_runs_its_query(client):
    """What the fallback form posts is answered by the endpoint."""
    response = client.post(
        "/sparql",
        data={
            "query": "SELECT ?organization WHERE { ?organization a kzcn:Organization }",
            "format": "csv",
        },
    )
    assert response.status_code == 200
    assert response.content_type.startswith("text/csv")
    assert response.get_data(as_text=True).splitlines()[0] == "organization"


# --- as served -----------------------------------------------------------------------------


def test_a_browser_gets_the_editor(client):
    response = client.get("/sparql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert "/static/vendor/yasgui/yasgui.min.js" in html, (
        "GET /sparql served the plain form: run `make assets`, and check that the view passes "
        "yasgui=True when the vendor files exist"
    )
    config = Page(html).config
    assert config["endpoint"] == "http://localhost/sparql"
    assert config["prefixes"] == PREFIXES
    assert isinstance(config["examples"], list)
    for example in config["examples"]:
        assert set(example) == {"name", "title", "query"}
    assert_loads_nothing_from_elsewhere(html)
    assert_explains_the_endpoint(html)


@pytest.mark.parametrize("name", sorted(VENDOR_FILES))
def test_vendor_files_are_served(app, client, name):
    path = Path(app.static_folder) / name
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `make assets` (it installs YASGUI with npm and copies its "
            "browser bundle into server/static/vendor/)",
            pytrace=False,
        )
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert_content_type(response.mimetype, VENDOR_FILES[name])
    assert response.get_data() == path.read_bytes()
    response.close()


@pytest.mark.parametrize("name", sorted(OWN_FILES))
def test_our_editor_files_are_served(client, name):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert_content_type(response.mimetype, OWN_FILES[name])
    response.close()


def assert_content_type(actual: str, expected: str) -> None:
    # Python's mimetypes says text/javascript from 3.12 on, some systems' tables still say
    # application/javascript; browsers run both.
    allowed = JAVASCRIPT_TYPES if expected == "text/javascript" else (expected,)
    assert actual in allowed


def test_editor_js_uses_no_eval_and_keeps_endpoint_errors_visible(app):
    """Our own script must stay within script-src 'self' (no eval or new Function) and must
    not replace YASR's error view, which shows the endpoint's text/plain refusals."""
    source = (Path(app.static_folder) / "editor.js").read_text(encoding="utf-8")
    for forbidden in ("eval(", "new Function", "innerHTML", "errorRenderers"):
        assert forbidden not in source
