"""The query worker: a child process that opens the store read-only and answers jobs sent
over a pipe. Oxigraph cannot cancel a running query, so the parent enforces the time limit
by killing this process; keep this module import-light, as a replacement starts often."""

import ctypes
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

PREFIXED_FORMATS = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG)
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000  # <sched.h>


class ByteCap:
    """A writer that refuses to grow past its limit, so a huge result costs bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit, self.chunks, self.size = limit, [], 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise OverflowError
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def answer(store: ox.Store, job: dict[str, Any], prefixes: dict[str, str]) -> tuple:
    """Run one job: ("ok", bytes) or (error kind, detail)."""
    try:
        default = [ox.NamedNode(iri) for iri in job["default_graphs"]] or None
        named = [ox.NamedNode(iri) for iri in job["named_graphs"]] or None
        result = store.query(
            job["query"],
            prefixes=prefixes,
            default_graph=default,
            named_graphs=named,
            # A query's own FROM chooses its dataset; otherwise the default graph is the union.
            use_default_graph_as_union=default is None and not job["declares_dataset"],
        )
    except (SyntaxError, ValueError) as error:  # ValueError: a graph name that is no IRI
        return ("syntax", str(error))
    except RuntimeError as error:  # e.g. a function the engine does not know: the query's fault
        return ("syntax", str(error))
    except OSError as error:
        return ("engine", str(error))
    engine_format = engine_format_for(result, job["media_type"])
    if engine_format is None:
        return ("format", job["media_type"])
    sink = ByteCap(job["max_bytes"])
    try:
        if engine_format in PREFIXED_FORMATS:
            # Readable Turtle/TriG: the dataset's prefixes instead of full IRIs.
            ox.serialize(result, sink, format=engine_format, prefixes=prefixes)
        else:
            result.serialize(sink, format=engine_format)
    except OverflowError:
        return ("too-large", job["max_bytes"])
    except (ValueError, OSError) as error:
        return ("engine", str(error))
    return ("ok", b"".join(sink.chunks))


def engine_format_for(
    result: object, media_type: str
) -> ox.QueryResultsFormat | ox.RdfFormat | None:
    """Graphs (CONSTRUCT, DESCRIBE) take RDF formats; solutions and booleans, result formats."""
    if isinstance(result, ox.QueryTriples):
        return ox.RdfFormat.from_media_type(media_type)
    return ox.QueryResultsFormat.from_media_type(media_type)


def cut_off_the_network() -> bool:
    """Defence in depth: Oxigraph's engine fetches a SERVICE IRI over HTTP by itself, and only
    the query check in server/sparql keeps such queries out. In a network namespace of its own
    this process has nothing but a loopback that is down, so no query can connect anywhere.
    Needs root, or unprivileged user namespaces; where neither is allowed it runs as before."""
    libc = ctypes.CDLL(None, use_errno=True)
    return any(libc.unshare(flags) == 0 for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET))


def serve(connection: Connection, store_path: str, prefixes: dict[str, str]) -> None:
    cut_off_the_network()
    try:
        store = ox.Store.read_only(store_path)
    except (OSError, RuntimeError, ValueError) as error:  # missing, corrupt, not a store
        connection.send(("failed", str(error)))  # the parent says why, no traceback here
        return
    connection.send(("ready", None))  # the parent times queries from here, not from start-up
    while True:
        try:
            job = connection.recv()
        except EOFError:  # the parent is gone
            return
        connection.send(answer(store, job, prefixes))
