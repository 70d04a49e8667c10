"""The files of a release and the VoID/DCAT graph that describes them (the "metadata" graph).

Every node minted here is an IRI, never a blank node: the metadata graph goes into the
TriG/N-Quads dumps and the store, and IRIs keep those byte-identical from build to build.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, XSD

from server.build.formats import by_subject
from server.release import (
    RELEASE_FILES,
    RELEASE_FILES_BY_NAME,
    REPORT_TURTLE,
    ReleaseFile,
    Role,
)
from server.vocab import BASE, DATASET, DCAT, GRAPHS, ID, PREFIXES, SPDX, VOID

SPARQL_ENDPOINT = URIRef(BASE + "sparql")
DUMPS_BASE = BASE + "dumps/"
PUBLISHER = URIRef(BASE + "contributors")
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
SOURCE_ARTICLE = URIRef(
    "https://baq.kz/atyrauda-qazaqstan-qytay-halyqaralyq-inzhenerlik-mektebi-ashylady-200020495/"
)
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
EU_FILE_TYPES = "http://publications.europa.eu/resource/authority/file-type/"

TITLES = {
    "en": "Knowledge graph of Kazakhstan–China academic cooperation",
    "kk": "Қазақстан–Қытай академиялық ынтымақтастығының білім графы",
}
DESCRIPTIONS = {
    "en": "The open knowledge graph of Kazakhstan–China academic cooperation: institutions, "
    "agreements, initiatives, research domains, events and countries.",
    "kk": "Қазақстан–Қытай академиялық ынтымақтастығының ашық білім графы: ұйымдар, "
    "келісімдер, бастамалар, ғылыми салалар, оқиғалар және елдер.",
}


def split_iri(iri: str) -> tuple[str, str]:
    """Split at the last '#' or '/': (namespace, local name), the way PREFIXES are cut."""
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    return iri[:cut], iri[cut:]


_RDF_TYPE = f"<{RDF.type}>".encode()
_OBJECTS = itemgetter(1)  # of a (predicate, objects) group


def _iri(term: bytes) -> URIRef:
    """The IRI of an N-Triples IRI term (canonical N-Triples writes IRIs unescaped)."""
    return URIRef(term[1:-1].decode("utf-8"))


@dataclass(frozen=True)
class UnionStats:
    """The VoID statistics of the union of UNION_GRAPHS, and the size of each graph."""

    triples: int
    subjects: int
    objects: int
    class_entities: dict[URIRef, int]
    property_triples: dict[URIRef, int]
    graph_triples: dict[str, int]

    @classmethod
    def count(cls, union: Iterable[bytes], graph_triples: Mapping[str, int]) -> UnionStats:
        """Count from the union's sorted, distinct canonical N-Triples lines, the very lines
        the dumps are written from, so the counts match the dumps (RDF 1.1 term equality
        included). Work per subject and predicate, not per line: a subject's lines are
        adjacent, and as no line repeats, a class has as many members as it has rdf:type
        lines."""
        subjects = 0
        objects: set[bytes] = set()
        properties: Counter[bytes] = Counter()
        classes: Counter[bytes] = Counter()
        for _, groups in by_subject(union):
            subjects += 1
            objects.update(*map(_OBJECTS, groups))
            for predicate, terms in groups:
                properties[predicate] += len(terms)
                if predicate == _RDF_TYPE:  # void:class needs an IRI
                    classes.update([term for term in terms if term[0] == 0x3C])  # "<"
        triples = sum(properties.values())  # a predicate a line
        return cls(
            triples=triples,
            subjects=subjects,
            objects=len(objects),
            class_entities={_iri(c): n for c, n in classes.items()},
            property_triples={_iri(p): n for p, n in properties.items()},
            graph_triples=dict(graph_triples),
        )


def partition_iri(kind: str, iri: URIRef) -> URIRef:
    """A stable IRI per class/property partition (no blank nodes, see module docstring)."""
    digest = hashlib.sha1(str(iri).encode("utf-8")).hexdigest()[:12]
    return URIRef(f"{DATASET}/partition/{kind}/{digest}")


def distribution_iri(filename: str) -> URIRef:
    return URIRef(DUMPS_BASE + filename)


def _vocabularies(stats: UnionStats) -> set[URIRef]:
    """Namespaces from PREFIXES that the union uses for properties or classes."""
    known = set(PREFIXES.values()) - {str(ID)}  # the id space holds things, not terms
    terms = [*stats.property_triples, *stats.class_entities]
    return {URIRef(ns) for ns, _ in map(split_iri, terms) if ns in known}


def _add_void(g: Graph, stats: UnionStats) -> None:
    g.add((DATASET, RDF.type, VOID.Dataset))
    g.add((DATASET, VOID.triples, Literal(stats.triples)))
    g.add((DATASET, VOID.distinctSubjects, Literal(stats.subjects)))
    g.add((DATASET, VOID.distinctObjects, Literal(stats.objects)))
    g.add((DATASET, VOID.classes, Literal(len(stats.class_entities))))
    g.add((DATASET, VOID.properties, Literal(len(stats.property_triples))))
    g.add((DATASET, VOID.sparqlEndpoint, SPARQL_ENDPOINT))
    g.add((DATASET, VOID.uriSpace, Literal(str(ID))))
    for vocabulary in _vocabularies(stats):
        g.add((DATASET, VOID.vocabulary, vocabulary))


def _add_partitions(g: Graph, stats: UnionStats) -> None:
    for cls, entities in stats.class_entities.items():
        partition = partition_iri("class", cls)
        g.add((DATASET, VOID.classPartition, partition))
        g.add((partition, VOID["class"], cls))
        g.add((partition, VOID.entities, Literal(entities)))
    for prop, triples in stats.property_triples.items():
        partition = partition_iri("property", prop)
        g.add((DATASET, VOID.propertyPartition, partition))
        g.add((partition, VOID.property, prop))
        g.add((partition, VOID.triples, Literal(triples)))


def _add_subsets(g: Graph, stats: UnionStats) -> None:
    for name, triples in stats.graph_triples.items():
        g.add((DATASET, VOID.subset, GRAPHS[name]))
        g.add((GRAPHS[name], RDF.type, VOID.Dataset))
        g.add((GRAPHS[name], VOID.triples, Literal(triples)))


def _add_dcat(g: Graph, version: str, created: date) -> None:
    g.add((DATASET, RDF.type, DCAT.Dataset))
    for lang, title in TITLES.items():
        g.add((DATASET, DCTERMS.title, Literal(title, lang=lang)))
    for lang, description in DESCRIPTIONS.items():
        g.add((DATASET, DCTERMS.description, Literal(description, lang=lang)))
    g.add((DATASET, DCTERMS.license, LICENSE))
    g.add((DATASET, DCTERMS.created, Literal(created, datatype=XSD.date)))
    g.add((DATASET, DCTERMS.issued, Literal(created, datatype=XSD.date)))
    g.add((DATASET, OWL.versionInfo, Literal(version)))
    g.add((DATASET, DCAT.version, Literal(version)))
    g.add((DATASET, DCTERMS.publisher, PUBLISHER))
    g.add((PUBLISHER, RDF.type, FOAF.Agent))
    g.add((PUBLISHER, FOAF.name, Literal("kzcn-kg contributors", lang="en")))
    g.add((DATASET, PROV.wasDerivedFrom, SOURCE_ARTICLE))


def _add_file(g: Graph, file: ReleaseFile, digest: tuple[str, int] | None) -> URIRef:
    """Describe a downloadable file; `digest` is (sha256 hex, byte size) when it is known."""
    node = distribution_iri(file.name)
    g.add((node, DCTERMS.description, Literal(file.description, lang="en")))
    g.add((node, DCAT.downloadURL, node))
    g.add((node, DCAT.mediaType, URIRef(IANA_MEDIA_TYPES + file.media_type)))
    g.add((node, DCTERMS["format"], URIRef(EU_FILE_TYPES + file.file_type)))
    g.add((node, DCTERMS.license, LICENSE))
    if file.compression:
        g.add((node, DCAT.compressFormat, URIRef(IANA_MEDIA_TYPES + file.compression)))
    if digest is not None:
        sha256, size = digest
        checksum = URIRef(f"{node}#sha256")
        g.add((node, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
        g.add((node, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(sha256, datatype=XSD.hexBinary)))
    return node


def _add_distributions(g: Graph, dumps: Mapping[str, tuple[str, int]]) -> None:
    for file in RELEASE_FILES:
        if file.role is Role.UNION:
            node = _add_file(g, file, dumps[file.name])
        elif file.role is Role.DATASET:
            # TriG/N-Quads contain this very graph, so their checksum and size cannot be
            # stated inside it; manifest.json records them.
            node = _add_file(g, file, None)
        else:
            continue
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((DATASET, DCAT.distribution, node))
        g.add((DATASET, VOID.dataDump, node))


def _add_report(g: Graph, dumps: Mapping[str, tuple[str, int]]) -> None:
    """The validation report is about the dataset, not a form of it: linked with rdfs:seeAlso
    rather than dcat:distribution, and no void:dataDump."""
    report = RELEASE_FILES_BY_NAME[REPORT_TURTLE]
    g.add((DATASET, RDFS.seeAlso, _add_file(g, report, dumps[report.name])))


def describe(
    stats: UnionStats,
    dumps: Mapping[str, tuple[str, int]],
    version: str,
    created: date,
) -> Graph:
    """Build the metadata graph. `stats` comes from UnionStats.count over the lines the dumps
    are written from; `dumps`: filename → (sha256 hex, byte size) for the union dumps and the
    validation report."""
    g = Graph()
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace, replace=True)
    _add_void(g, stats)
    _add_partitions(g, stats)
    _add_subsets(g, stats)
    _add_dcat(g, version, created)
    _add_distributions(g, dumps)
    _add_report(g, dumps)
    return g
