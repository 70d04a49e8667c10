"""The `kzcn-kg` command line.

Exit codes: 0 success; 1 the data does not conform (SHACL, integrity or source check);
2 usage error; 3 an input cannot be read or parsed, or uses what the chosen engine cannot
handle (the scalable engine refuses OWL or SHACL it does not implement); 4 publishing to a
remote store failed.
"""

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from .build.pipeline import (
    ENGINES,
    UnknownEngine,
    ValidationFailed,
    build,
    check,
    default_engine,
)
from .build.rules import UnsupportedVocabulary
from .build.shacl_sparql import UnsupportedShape
from .build.source_check import article_file, check_source
from .build.sources import SourceError, load_sources
from .config import Settings, paths_from_env
from .examples import ExampleError
from .remote_publish import add_publish

OK, NOT_CONFORMING, USAGE, UNREADABLE = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return UNREADABLE
    except ExampleError as error:
        print(f"error: {error}", file=sys.stderr)
        return UNREADABLE
    except (UnsupportedVocabulary, UnsupportedShape) as error:
        name = getattr(args, "engine", None) or "chosen"
        print(f"error: the {name} engine cannot build this input: {error}", file=sys.stderr)
        return UNREADABLE
    except UnknownEngine as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE
    except ValidationFailed as failure:
        print(failure.validation.text(), file=sys.stderr)
        return NOT_CONFORMING


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kzcn-kg", description="Build and check the Kazakhstan–China cooperation graph."
    )
    top.add_argument(
        "--root",
        type=Path,
        help="project folder with ontology/, data/, shapes/ (default: $KZCN_ROOT or the checkout)",
    )
    top.add_argument(
        "--build-dir",
        type=Path,
        help="where releases are written (default: $KZCN_BUILD_DIR or ROOT/build)",
    )
    commands = top.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in (
        add(
            commands,
            "build",
            run_build,
            "parse, reason, validate and publish a release into the build folder (atomically)",
        ),
        add(
            commands,
            "validate",
            run_validate,
            "parse, reason and validate; print the report; write nothing",
        ),
    ):
        add_engine(command)
    add_serve(commands)
    add_prepare(commands)
    add_query(commands)
    add_publish(commands)
    source = add(
        commands,
        "check-source",
        run_check_source,
        "check every kzcn:mentionText against the article's cited paragraph",
    )
    source.add_argument("path", type=Path, help="the article (.txt) or a folder holding it")
    return top


def add_engine(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="reference: rdflib, owlrl and pyshacl (up to ~10^5 triples); scalable: "
        "inside an Oxigraph store, for millions of triples "
        "(default: $KZCN_ENGINE or reference)",
    )


def add_serve(commands: argparse._SubParsersAction) -> None:
    serve = add(
        commands,
        "serve",
        run_serve,
        "serve the SPARQL endpoint and pages from the current release "
        "(building one first if there is none)",
    )
    serve.add_argument(
        "--host",
        default=env("KZCN_HOST", "127.0.0.1"),
        help="address to listen on (default: $KZCN_HOST or 127.0.0.1)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(env("KZCN_PORT", "8000")),
        help="port (default: $KZCN_PORT or 8000)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(env("KZCN_WEB_WORKERS", "2")),
        help="web worker processes (default: $KZCN_WEB_WORKERS or 2)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        # Few threads: on 2 cores, 8 per worker starved the query processes of CPU under load
        # (p99 187-225 ms against 82-95 ms with 2: bench/README.md, mixed load).
        default=int(env("KZCN_THREADS", "2")),
        help="threads per web worker (default: $KZCN_THREADS or 2)",
    )
    serve.add_argument(
        "--query-timeout",
        type=float,
        help="hard time limit per query in seconds (default: $KZCN_QUERY_TIMEOUT or 10)",
    )
    serve.add_argument(
        "--public-base",
        help="the public base IRI this server answers for "
        "(default: $KZCN_PUBLIC_BASE or https://w3id.org/kzcn/)",
    )


def add_prepare(commands: argparse._SubParsersAction) -> None:
    prepare = add(
        commands,
        "prepare",
        run_prepare,
        "compute the answers of the current release's example queries ahead of requests "
        "(kept in the release; `serve` does this in the background)",
    )
    # The background preparer of `serve`: watch for new releases until this pipe closes.
    prepare.add_argument("--watch", type=int, metavar="FD", help=argparse.SUPPRESS)


def add_query(commands: argparse._SubParsersAction) -> None:
    query = add(
        commands,
        "query",
        run_query,
        "run a SPARQL query against the current release and print the answer",
    )
    text = query.add_mutually_exclusive_group(required=True)
    text.add_argument("query", nargs="?", help="the query text")
    text.add_argument("--file", type=Path, help="read the query from this file")
    query.add_argument(
        "--format",
        help="print the raw answer in this format (json, xml, csv, tsv; ttl, nt, "
        "jsonld, rdf, trig, nq) instead of a table",
    )
    query.add_argument(
        "--timeout", type=float, default=60.0, help="time limit in seconds (default: 60)"
    )


def add(
    commands: argparse._SubParsersAction,
    name: str,
    run: Callable[[argparse.Namespace], int],
    summary: str,
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=summary, description=summary)
    command.set_defaults(run=run)
    return command


def run_build(args: argparse.Namespace) -> int:
    built = build(paths_from_env(args.root, args.build_dir), engine(args))
    checked = built.checked
    print(
        f"built release {built.release.name} (dataset version {checked.version}): "
        f"{checked.asserted_triples} asserted, {checked.inferred_triples} inferred triples"
    )
    print("  " + ", ".join(f"{step} {sec:.2f} s" for step, sec in checked.seconds.items()))
    return OK


def run_validate(args: argparse.Namespace) -> int:
    checked = check(paths_from_env(args.root, args.build_dir), engine(args))
    print(checked.validation.text())
    return OK if checked.validation.conforms else NOT_CONFORMING


def engine(args: argparse.Namespace) -> str:
    """--engine, else $KZCN_ENGINE, else the reference engine; remembered for error messages."""
    if getattr(args, "engine", None) is None:
        args.engine = default_engine()
    return args.engine


def env(name: str, fallback: str) -> str:
    return os.environ.get(name) or fallback


def run_serve(args: argparse.Namespace) -> int:
    from . import current_release, release, serve

    settings = Settings.from_env(paths_from_env(args.root, args.build_dir).build_dir)
    overrides = {"query_timeout": args.query_timeout, "public_base": args.public_base}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    try:
        # Read, checked and opened as each web worker will, then closed: a broken release
        # is refused here, with one message, rather than by every worker after the fork.
        current_release.CurrentRelease(settings).close()
    except release.ReleaseBroken as broken:
        # Never half a graph, and never silently rebuilt over: say what is wrong and stop.
        print(
            f"error: not serving: {broken} Run `kzcn-kg build` to publish a new release.",
            file=sys.stderr,
        )
        return UNREADABLE
    except release.ReleaseMissing as missing:
        print(f"{missing} Building now.", file=sys.stderr)
        run_build(args)
    serve.run(settings, args.host, args.port, args.workers, args.threads)
    return OK


def run_prepare(args: argparse.Namespace) -> int:
    from .sparql import prepare

    settings = Settings.from_env(paths_from_env(args.root, args.build_dir).build_dir)
    if args.watch is not None:
        return prepare.watch(settings, args.watch)
    return prepare.run_once(settings)


def run_query(args: argparse.Namespace) -> int:
    from .query_cli import run

    text = args.file.read_text(encoding="utf-8") if args.file else args.query
    settings = Settings.from_env(paths_from_env(args.root, args.build_dir).build_dir)
    return run(settings, text, args.format, args.timeout)


def run_check_source(args: argparse.Namespace) -> int:
    try:
        article = article_file(args.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return UNREADABLE
    data = load_sources(paths_from_env(args.root, args.build_dir)).data
    mismatches = check_source(data, article)
    for mismatch in mismatches:
        print(f"  {mismatch}", file=sys.stderr)
    if mismatches:
        print(f"{len(mismatches)} mismatch(es) with the article", file=sys.stderr)
        return NOT_CONFORMING
    print("every mention occurs in the paragraph it cites")
    return OK


if __name__ == "__main__":
    sys.exit(main())
