"""The one registry of media types, file extensions and engine formats, and the one content
negotiation: used by the SPARQL endpoint, the resource pages and the dumps alike."""

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str  # the short name for `?format=` and the file extension
    media_type: str
    engine: ox.QueryResultsFormat | ox.RdfFormat | None
    aliases: tuple[str, ...] = ()  # other media types that mean this format

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"

    def matches(self, media_type: str) -> bool:
        return media_type == self.media_type or media_type in self.aliases


# Order matters: on a tie, the first format is preferred (and it is the default).
RESULT_FORMATS: tuple[Format, ...] = (
    Format(
        "json", "application/sparql-results+json", ox.QueryResultsFormat.JSON, ("application/json",)
    ),
    Format(
        "xml",
        "application/sparql-results+xml",
        ox.QueryResultsFormat.XML,
        ("application/xml", "text/xml"),
    ),
    Format("csv", "text/csv", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
)
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("ttl", "text/turtle", ox.RdfFormat.TURTLE, ("application/x-turtle",)),
    Format("nt", "application/n-triples", ox.RdfFormat.N_TRIPLES, ("text/plain",)),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, ("application/json",)),
    Format("rdf", "application/rdf+xml", ox.RdfFormat.RDF_XML, ("application/xml", "text/xml")),
    Format("trig", "application/trig", ox.RdfFormat.TRIG),
    Format("nq", "application/n-quads", ox.RdfFormat.N_QUADS),
)


def by_name(formats: tuple[Format, ...], name: str) -> Format | None:
    """`?format=` takes a short name (json, ttl…) or a media type. Only spaces and tabs
    around it are forgiven: a name that matched after dropping a line break would carry
    that line break on into a header (a download's file name)."""
    name = name.strip(" \t").lower()
    return next((f for f in formats if name == f.name or f.matches(name)), None)


@dataclass(frozen=True)
class MediaRange:
    type: str  # e.g. "text", "*"
    subtype: str  # e.g. "turtle", "*"
    q: float

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")

    def covers(self, media_type: str) -> bool:
        kind, _, sub = media_type.partition("/")
        return self.type in ("*", kind) and self.subtype in ("*", sub)


def parse_accept(header: str | None) -> list[MediaRange]:
    """RFC 9110 Accept: media ranges with q-values; malformed parts are ignored, as browsers
    and proxies send odd things and a bad range must not cost the client its answer."""
    ranges = []
    for part in (header or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub:
            continue
        ranges.append(MediaRange(kind, sub, quality(params)))
    return ranges


def quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def negotiate(header: str | None, formats: tuple[Format, ...]) -> Format | None:
    """The best format for an Accept header, or None if nothing acceptable is offered
    (the caller answers 406). No header, or an empty one, accepts anything."""
    ranges = parse_accept(header)
    if not ranges:
        return formats[0]
    best, best_q = None, 0.0
    for fmt in formats:
        q = format_quality(fmt, ranges)
        if q > best_q:
            best, best_q = fmt, q
    return best


def format_quality(fmt: Format, ranges: list[MediaRange]) -> float:
    """The q of the most specific range covering any of the format's media types."""
    best: tuple[int, float] | None = None
    for media_type in (fmt.media_type, *fmt.aliases):
        for media_range in ranges:
            if media_range.covers(media_type):
                # An alias (e.g. application/json) counts slightly less than the real type.
                q = media_range.q if media_type == fmt.media_type else media_range.q * 0.99
                candidate = (media_range.specificity, q)
                if (
                    best is None
                    or candidate[0] > best[0]
                    or (candidate[0] == best[0] and candidate[1] > best[1])
                ):
                    best = candidate
    return best[1] if best else 0.0


HTML = Format("html", "text/html", None, ("application/xhtml+xml",))


def prefers_html(header: str | None, machine_formats: tuple[Format, ...]) -> bool:
    """A browser: it names text/html explicitly, at least as high as any format we offer
    machines. (curl's `*/*` is not a browser.)"""
    ranges = parse_accept(header)
    named = [
        r.q
        for r in ranges
        if r.specificity == 2 and any(r.covers(t) for t in (HTML.media_type, *HTML.aliases))
    ]
    if not named or max(named) == 0:
        return False
    return max(named) >= max(format_quality(f, ranges) for f in machine_formats)
