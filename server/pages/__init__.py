"""What people see: resource, class, ontology and home pages, dumps and site metadata, all in
five languages. Shared pieces: `languages` (UI language, label choice, interface text) and
`links` (our IRIs ↔ this server's paths)."""
