"""Pages of long lists: which page a request asks for, and the links between pages.

A list that grows with the graph (the instances of a class, the links to a hub) is served a
page at a time, like Datasette's tables. Pages follow the store's own order, which is fixed for
a release (its store never changes): ordering by IRI or label would make the engine fetch the
text of every row for each comparison, seconds for a class of 50,000 things at 10^6 triples."""

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import abort, request

LAST_PAGE = 1_000_000  # past any real list; keeps OFFSET arithmetic small


def page_number() -> int:
    """`?page=n` (from 1; 1 when absent), or a 400 for anything else."""
    text = request.args.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= LAST_PAGE:
        abort(400, description="page must be a whole number from 1")
    return int(text)


@dataclass(frozen=True)
class Page:
    number: int  # from 1
    size: int
    total: int | None = None  # None when counting would cost more than the page

    @property
    def skip(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_item(self) -> int:
        return self.skip + 1

    def last_item(self, shown: int) -> int:
        return self.skip + shown

    @property
    def has_next(self) -> bool:
        return self.total is not None and self.skip + self.size < self.total

    @property
    def exists(self) -> bool:
        """Page 1 always exists (perhaps empty); a later one only if it has items."""
        return self.number == 1 or self.total is None or self.skip < self.total


def page_href(number: int) -> str:
    """This page's address with another page number, keeping the other parameters (?lang=)."""
    args = {key: value for key, value in request.args.items() if key != "page"}
    if number > 1:
        args["page"] = str(number)
    return request.path + (f"?{urlencode(args)}" if args else "")


def page_links(path: str, page: int, more: bool) -> list[tuple[str, str]]:
    """RFC 8288 links between the pages of a document (none when there is one page)."""
    links = []
    if page > 1:
        links += [f'<{path}>; rel="first"', f'<{path}?page={page - 1}>; rel="prev"']
    if more:
        links.append(f'<{path}?page={page + 1}>; rel="next"')
    return [("Link", ", ".join(links))] if links else []
