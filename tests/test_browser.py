"""In a real headless Chromium (Debian's package, driven by Playwright), as a person uses the
site: run an example query in the editor, switch language, sort and filter a table, click a
node of the network picture. A screenshot of each page is saved under test-artifacts/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from server.config import PACKAGE_ROOT

from .live import start, stop

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PACKAGE_ROOT / "test-artifacts"
# No background traffic: this machine has no network, and a test must not try to reach one.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]


@pytest.fixture(scope="module")
def site(release_build_dir: Path) -> Iterator[str]:
    process, base = start(release_build_dir)
    yield base
    stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (Debian's chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


def test_run_an_example_query_in_the_editor(page: Page, site: str):
    page.goto(f"{site}/sparql")
    page.get_by_text("Agreements by kind", exact=True).click()
    active = page.locator(".tabPanel.active")  # YASGUI keeps one panel per tab
    active.locator(".yasqe_queryButton").click()
    table = active.locator(".yasr table tbody")
    expect(table).to_contain_text("Memorandum", timeout=15_000)
    expect(table.locator("tr")).to_have_count(4)


def test_switch_language_and_see_kazakh_latin_labels(page: Page, site: str):
    page.goto(f"{site}/id/organization/al-farabi-kazakh-national-university?lang=en")
    expect(page.locator("h1")).to_have_text("Al-Farabi Kazakh National University")
    page.get_by_role("link", name="Qazaqşa").click()
    expect(page.locator("h1")).to_have_text("Äl-Farabi atyndağy Qazaq ūlttyq universitetı")
    expect(page.locator("html")).to_have_attribute("lang", "kk-Latn")
    page.get_by_role("link", name="Қазақша").click()
    expect(page.locator("h1")).to_have_text("Әл-Фараби атындағы Қазақ ұлттық университеті")


def test_sort_and_filter_a_class_table(page: Page, site: str):
    page.goto(f"{site}/classes/Organization?lang=en")
    rows = page.locator("#instances tbody tr:visible")
    total = rows.count()
    assert total > 30
    page.get_by_label("Filter the table").fill("Tsinghua")
    expect(rows).to_have_count(2)  # the university and its science park
    page.get_by_label("Filter the table").fill("")
    expect(rows).to_have_count(total)
    page.get_by_role("columnheader", name="Agreements").click()
    page.get_by_role("columnheader", name="Agreements").click()  # descending
    first = page.locator("#instances tbody tr").first
    expect(first).to_contain_text("Almaty Technological University")  # two agreements


NODE_POSITION = """(slug) => {
  const container = document.getElementById("kzcn-network-picture");
  container.scrollIntoView({block: "center"});
  const cy = container._cyreg.cy;  // where Cytoscape.js keeps the instance of a container
  const node = cy.nodes().filter((n) => (n.data("href") || "").includes(slug)).first();
  const position = node.renderedPosition();
  const box = container.getBoundingClientRect();
  return {x: box.left + position.x, y: box.top + position.y, href: node.data("href")};
}"""


def settled_position(page: Page, slug: str) -> dict:
    """Where the node is once nothing moves any more (scrolling, the picture's layout)."""
    previous = page.evaluate(NODE_POSITION, slug)
    for _ in range(50):
        page.wait_for_timeout(100)
        current = page.evaluate(NODE_POSITION, slug)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the network picture never settled")


def test_click_a_node_of_the_network_picture(page: Page, site: str):
    page.goto(f"{site}/?lang=en")
    expect(page.locator("#kzcn-network-picture")).to_be_visible()
    node = settled_position(page, "al-farabi-kazakh-national-university")
    assert node["href"].endswith("/id/organization/al-farabi-kazakh-national-university")
    # Point at the node first, as a person does: the picture names it, then we click there.
    page.mouse.move(node["x"], node["y"])
    expect(page.locator("#kzcn-network-hover")).to_contain_text("Al-Farabi")
    node = settled_position(page, "al-farabi-kazakh-national-university")
    page.mouse.click(node["x"], node["y"])
    page.wait_for_url("**/id/organization/al-farabi-kazakh-national-university**")
    expect(page.locator("h1")).to_contain_text("Al-Farabi")
