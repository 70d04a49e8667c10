"""kzcn-kg: the knowledge graph of Kazakhstan–China academic cooperation.

The package has two halves that meet only through files on disk: `server.build` turns
`ontology/`, `data/` and `shapes/` into a published release under `build/`; the web
application (added with the SPARQL endpoint) serves what a release contains.
"""
