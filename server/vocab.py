"""IRIs the project mints and the prefixes it speaks: the one place they are spelled out."""

from rdflib import Namespace, URIRef

BASE = "https://w3id.org/kzcn/"
KZCN = Namespace(BASE + "ontology#")
ONTOLOGY_IRI = URIRef(BASE + "ontology")
ID = Namespace(BASE + "id/")
SHAPES = Namespace(BASE + "shapes#")
DATASET = URIRef(BASE + "dataset")

SCHEMA = Namespace("https://schema.org/")
ORG = Namespace("http://www.w3.org/ns/org#")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
WD = Namespace("http://www.wikidata.org/entity/")

# The kinds of things we mint IRIs for (`{ID}{kind}/{slug}`), with their query prefixes.
ID_KINDS: dict[str, str] = {
    "inst": "organization",
    "agreement": "agreement",
    "initiative": "initiative",
    "domain": "domain",
    "country": "country",
    "event": "event",
    "article": "article",
    "claim": "claim",
    "outcome": "outcome",
}

# The named graphs of a release. The default graph of the store is their union.
GRAPHS: dict[str, URIRef] = {
    name: URIRef(f"{BASE}graph/{name}") for name in ("ontology", "data", "inferred", "metadata")
}

PREFIXES: dict[str, str] = {
    "kzcn": str(KZCN),
    "kzcnid": str(ID),
    # One prefix per kind of thing, as in data/, so that `inst:alt-university` works in queries.
    **{prefix: f"{ID}{kind}/" for prefix, kind in ID_KINDS.items()},
    "schema": str(SCHEMA),
    "org": str(ORG),
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": str(DCAT),
    "void": str(VOID),
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "spdx": str(SPDX),
    "wd": str(WD),
    "kzsh": str(SHAPES),
}
