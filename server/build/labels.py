"""Kazakh Latin-script labels, derived from the Cyrillic ones at build time.

The graph's Kazakh names are written in Cyrillic (`kk`). Their Latin spellings (`kk-Latn`)
are generated here by the build, never typed by hand, so the two scripts can never drift
apart: fix a Cyrillic label and its Latin twin follows on the next build.
"""

from rdflib import Graph, Literal
from rdflib.namespace import RDFS, SKOS

from ..kazakh import kk_latin

LABEL_PREDICATES = (RDFS.label, SKOS.prefLabel, SKOS.altLabel)
SOURCE_LANG = "kk"
TARGET_LANG = "kk-Latn"


def _is_kazakh(literal: Literal) -> bool:
    return literal.language is not None and literal.language.lower() == SOURCE_LANG


def latin_label_triples(graph: Graph) -> Graph:
    """A new graph with a `kk-Latn` twin of every `kk` label in `graph`.

    Labels are rdfs:label, skos:prefLabel and skos:altLabel. A label whose transliteration
    is unchanged (nothing Cyrillic in it) gets no twin.
    """
    latin = Graph()
    for predicate in LABEL_PREDICATES:
        for subject, label in graph.subject_objects(predicate):
            if not isinstance(label, Literal) or not _is_kazakh(label):
                continue
            text = str(label)
            transliterated = kk_latin(text)
            if transliterated != text:
                latin.add((subject, predicate, Literal(transliterated, lang=TARGET_LANG)))
    return latin
