"""Search across every label in every language and script, and the W3C Entity Reconciliation
Service API over the same index."""
