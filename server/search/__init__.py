"""Search across every label in every language and script, and the W3C Entity Reconciliation
Service API over the same index.

`index`, `tables` and `text` are plain Python (the index's tables, folding, typo distance,
ranking); `service` loads the index of the release being served (the build writes it:
server/build/search_index.py) and names results in the reader's language; `views` and
`reconcile` are the HTTP faces. `suggest(query, limit)` is for other pages (not found)."""

from .service import Result, get_index, search, suggest

__all__ = ["Result", "get_index", "search", "suggest"]
