"""Search across every label in every language and script, and the W3C Entity Reconciliation
Service API over the same index.

`index` and `text` are plain Python (folding, typo distance, ranking); `service` builds one
index per application from the store and names results in the reader's language; `views` and
`reconcile` are the HTTP faces. `suggest(query, limit)` is for other pages (not found)."""

from .service import Result, get_index, search, suggest

__all__ = ["Result", "get_index", "search", "suggest"]
