"""Markup in the data, in a real browser (issue #6): a label `<script>alert("x")</script> &
"ALT" <b>University</b>` must reach the reader as those characters — in the network
picture's hover line, in the query editor's result table, in a class table's filter — and
never run or turn into elements. Reuses test_browser.py's browser, page and picture helpers."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Dialog, Page, expect

from .conftest import HOSTILE_LABEL
from .live import start, stop
from .test_browser import browser, page, settled_position  # noqa: F401 (fixtures)

SLUG = "alt-university"
LABEL_QUERY = (
    "SELECT ?label WHERE { <https://w3id.org/kzcn/id/organization/alt-university> "
    '<http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER (lang(?label) = "en") }'
)


@pytest.fixture(scope="module")
def hostile_site(hostile_build_dir: Path) -> Iterator[str]:
    process, base = start(hostile_build_dir)
    yield base
    stop(process)


@dataclass
class Visit:
    """A browser tab on the hostile site, with every alert/confirm/prompt it opened: a
    script made from the label would open one."""

    tab: Page
    base: str
    dialogs: list[str] = field(default_factory=list)

    def shows_as_text(self, selector: str) -> None:
        """No <b> or <script> made from the label inside `selector`, and no dialog."""
        assert self.tab.locator(f"{selector} b").count() == 0
        assert self.tab.locator(f"{selector} script").count() == 0
        assert self.dialogs == []


@pytest.fixture
def visit(page: Page, hostile_site: str) -> Visit:  # noqa: F811 (the imported fixture)
    opened = Visit(page, hostile_site)

    def record(dialog: Dialog) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def test_the_network_picture_names_a_hostile_node_as_text(visit: Visit):
    visit.tab.goto(f"{visit.base}/?lang=en")
    expect(visit.tab.locator("#kzcn-network-picture")).to_be_visible()
    node = settled_position(visit.tab, SLUG)
    visit.tab.mouse.move(node["x"], node["y"])
    expect(visit.tab.locator("#kzcn-network-hover")).to_have_text(HOSTILE_LABEL)
    visit.shows_as_text("#kzcn-network-hover")


def test_the_query_editor_shows_a_hostile_result_as_text(visit: Visit):
    visit.tab.goto(f"{visit.base}/sparql#query={quote(LABEL_QUERY)}")
    active = visit.tab.locator(".tabPanel.active")
    active.locator(".yasqe_queryButton").click()
    table = active.locator(".yasr table tbody")
    expect(table).to_contain_text(HOSTILE_LABEL, timeout=15_000)
    visit.shows_as_text(".yasr")


def test_a_class_table_filters_on_a_hostile_name_as_text(visit: Visit):
    visit.tab.goto(f"{visit.base}/classes/HigherEducationInstitution?lang=en")
    visit.tab.get_by_label("Filter the table").fill("<b>University")
    rows = visit.tab.locator("#instances tbody tr:visible")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(HOSTILE_LABEL)
    visit.shows_as_text("#instances")
