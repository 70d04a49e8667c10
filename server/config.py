"""Every setting in one place: paths, read from the environment with sane defaults."""

import os
from dataclasses import dataclass
from pathlib import Path

# An editable install runs from the checkout, so the project root is the package's parent.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    """Where the build reads its inputs and writes its releases."""

    root: Path
    build_dir: Path

    @property
    def ontology(self) -> Path:
        return self.root / "ontology"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def shapes(self) -> Path:
        return self.root / "shapes"

    @property
    def queries(self) -> Path:
        return self.root / "queries"


def paths_from_env(root: Path | None = None, build_dir: Path | None = None) -> Paths:
    """Explicit arguments win, then KZCN_ROOT / KZCN_BUILD_DIR, then the checkout."""
    root = root or Path(os.environ.get("KZCN_ROOT", PACKAGE_ROOT))
    build_dir = build_dir or Path(os.environ.get("KZCN_BUILD_DIR", root / "build"))
    return Paths(root=root.resolve(), build_dir=build_dir.resolve())


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """What the web application needs; every field can be set from the environment."""

    build_dir: Path
    public_base: str = "https://w3id.org/kzcn/"  # IRIs under it are served by this server
    store_url: str | None = None  # a remote SPARQL endpoint instead of the embedded store
    query_timeout: float = 10.0  # seconds; clients may ask for less, never more
    query_workers: int = 2  # query processes per web worker
    # CPU seconds after which a query moves to the slow lane (store/embedded.py).
    slow_query_cpu: float = 0.5
    max_query_bytes: int = 100_000
    max_result_bytes: int = 50_000_000
    max_nesting: int = 64
    cache_bytes: int = 64_000_000
    cache_max_age: int = 300  # seconds browsers and proxies may reuse an answer
    # Links *to* a thing in one RDF document about it; more go to further pages (a hub such as
    # a country has one per agreement: 19,000 at 10^6 triples).
    incoming_page_size: int = 1000
    table_page_size: int = 100  # rows of a class's table per page
    # Which properties name a thing on its page, in order of preference.
    label_chain: tuple[str, ...] = ("skos:prefLabel", "rdfs:label", "schema:name")
    # Prepared answers of the example queries (sparql/prepared.py): served when True, and
    # computed with this limit per query instead of the client's.
    prepared: bool = True
    prepare_timeout: float = 600.0

    @classmethod
    def from_env(cls, build_dir: Path | None = None) -> "Settings":
        return cls(
            build_dir=paths_from_env(build_dir=build_dir).build_dir,
            public_base=os.environ.get("KZCN_PUBLIC_BASE", cls.public_base),
            store_url=os.environ.get("KZCN_STORE") or None,
            query_timeout=env_number("KZCN_QUERY_TIMEOUT", cls.query_timeout),
            query_workers=int(env_number("KZCN_QUERY_WORKERS", cls.query_workers)),
            slow_query_cpu=env_number("KZCN_SLOW_QUERY_CPU", cls.slow_query_cpu),
            max_query_bytes=int(env_number("KZCN_MAX_QUERY_BYTES", cls.max_query_bytes)),
            max_result_bytes=int(env_number("KZCN_MAX_RESULT_BYTES", cls.max_result_bytes)),
            max_nesting=int(env_number("KZCN_MAX_NESTING", cls.max_nesting)),
            cache_bytes=int(env_number("KZCN_CACHE_BYTES", cls.cache_bytes)),
            cache_max_age=int(env_number("KZCN_CACHE_MAX_AGE", cls.cache_max_age)),
            incoming_page_size=int(env_number("KZCN_INCOMING_PAGE_SIZE", cls.incoming_page_size)),
            table_page_size=int(env_number("KZCN_TABLE_PAGE_SIZE", cls.table_page_size)),
            label_chain=tuple(os.environ.get("KZCN_LABEL_CHAIN", "").split()) or cls.label_chain,
            prepared=os.environ.get("KZCN_PREPARED", "1").strip() not in ("0", "false", "no"),
            prepare_timeout=env_number("KZCN_PREPARE_TIMEOUT", cls.prepare_timeout),
        )
