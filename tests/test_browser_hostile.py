"""Markup in the data, in a real browser (issue #6): a label `<script>alert("x")</script> &
"ALT" <b>University</b>` must reach the reader as those characters — in the network
picture's hover line, in the query editor's result table, in a class table's filter — and
never run or turn into elements. Reuses test_browser.py's browser, page and picture helpers."""

from collections.abc import Iterator
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


@pytest.fixture
def dialogs(page: Page) -> list[str]:  # noqa: F811 (the imported fixture)
    """Every alert/confirm/prompt the page opens: a script that ran would open one."""
    opened: list[str] = []

    def record(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def no_markup_elements(tab: Page, selector: str) -> None:
    """No <b> or <script> made from the label anywhere inside `selector`."""
    assert tab.locator(f"{selector} b").count() == 0
    assert tab.locator(f"{selector} script").count() == 0


def test_the_network_picture_names_a_hostile_node_as_text(
    page: Page,  # noqa: F811
    hostile_site: str,
    dialogs: list[str],
):
    page.goto(f"{hostile_site}/?lang=en")
    expect(page.locator("#kzcn-network-picture")).to_be_visible()
    node = settled_position(page, SLUG)
    page.mouse.move(node["x"], node["y"])
    hover = page.locator("#kzcn-network-hover")
    expect(hover).to_have_text(HOSTILE_LABEL)
    no_markup_elements(page, "#kzcn-network-hover")
    assert dialogs == []


def test_the_query_editor_shows_a_hostile_result_as_text(
    page: Page,  # noqa: F811
    hostile_site: str,
    dialogs: list[str],
):
    page.goto(f"{hostile_site}/sparql#query={quote(LABEL_QUERY)}")
    active = page.locator(".tabPanel.active")
    active.locator(".yasqe_queryButton").click()
    table = active.locator(".yasr table tbody")
    expect(table).to_contain_text(HOSTILE_LABEL, timeout=15_000)
    no_markup_elements(page, ".yasr")
    assert dialogs == []


def test_a_class_table_filters_on_a_hostile_name_as_text(
    page: Page,  # noqa: F811
    hostile_site: str,
    dialogs: list[str],
):
    page.goto(f"{hostile_site}/classes/HigherEducationInstitution?lang=en")
    page.get_by_label("Filter the table").fill("<b>University")
    rows = page.locator("#instances tbody tr:visible")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(HOSTILE_LABEL)
    no_markup_elements(page, "#instances")
    assert dialogs == []
