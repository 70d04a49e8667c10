"""The SPARQL 1.1 protocol: request parsing, safety checks, caching and the /sparql routes."""
