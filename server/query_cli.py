"""`kzcn-kg query`: one query against the current release, from the shell.

It goes through the same store interface, safety checks and formats as the endpoint; without
--format, solutions print as an aligned table and graphs as Turtle."""

import json
import sys

from . import formats, release
from .config import Settings
from .sparql.query_text import QueryRefused, inspect
from .store import QueryJob, StoreError, open_store

FAILED, UNAVAILABLE = 1, 3


def run(settings: Settings, text: str, format_name: str | None, timeout: float) -> int:
    try:
        query = inspect(text, settings.max_nesting)
        current = release.current(settings.build_dir)
    except (QueryRefused, release.ReleaseMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED if isinstance(error, QueryRefused) else UNAVAILABLE
    is_graph = query.form in ("CONSTRUCT", "DESCRIBE")
    offered = formats.GRAPH_FORMATS if is_graph else formats.RESULT_FORMATS
    fmt = formats.by_name(offered, format_name) if format_name else offered[0]
    if fmt is None:
        names = ", ".join(f.name for f in offered)
        print(
            f"error: no format {format_name!r} for a {query.form} query ({names})", file=sys.stderr
        )
        return FAILED
    store = open_store(settings.store_url, current, workers=1)
    try:
        body = store.run(QueryJob(query.text, fmt, max_bytes=settings.max_result_bytes), timeout)
    except StoreError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return FAILED
    finally:
        store.close()
    if format_name or is_graph:
        sys.stdout.buffer.write(body)
    else:
        print(table(json.loads(body)))
    return 0


def table(results: dict) -> str:
    """SPARQL JSON results as an aligned text table (or the boolean of an ASK)."""
    if "boolean" in results:
        return "true" if results["boolean"] else "false"
    names = results["head"]["vars"]
    rows = [
        [cell(binding.get(name)) for name in names] for binding in results["results"]["bindings"]
    ]
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(names)]
    lines = [
        "  ".join(name.ljust(w) for name, w in zip(names, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)) for row in rows
    ]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def cell(term: dict | None) -> str:
    if term is None:
        return ""
    if term["type"] == "literal" and "xml:lang" in term:
        return f"{term['value']}@{term['xml:lang']}"
    return term["value"]
