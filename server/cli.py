"""The `kzcn-kg` command line.

Exit codes: 0 success; 1 the data does not conform (SHACL, integrity or source check);
2 usage error; 3 an input cannot be read or parsed.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .build.pipeline import ValidationFailed, build, check
from .build.source_check import article_file, check_source
from .build.sources import SourceError, load_sources
from .config import paths_from_env

OK, NOT_CONFORMING, USAGE, UNREADABLE = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return UNREADABLE
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
    add(
        commands,
        "build",
        run_build,
        "parse, reason, validate and publish a release into the build folder (atomically)",
    )
    add(
        commands,
        "validate",
        run_validate,
        "parse, reason and validate; print the report; write nothing",
    )
    source = add(
        commands,
        "check-source",
        run_check_source,
        "check every kzcn:mentionText against the article's cited paragraph",
    )
    source.add_argument("path", type=Path, help="the article (.txt) or a folder holding it")
    return top


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
    built = build(paths_from_env(args.root, args.build_dir))
    checked = built.checked
    print(
        f"built release {built.release.name} (dataset version {checked.sources.version}): "
        f"{len(checked.sources.data)} asserted, {len(checked.inferred)} inferred triples"
    )
    print("  " + ", ".join(f"{step} {sec:.2f} s" for step, sec in checked.seconds.items()))
    return OK


def run_validate(args: argparse.Namespace) -> int:
    checked = check(paths_from_env(args.root, args.build_dir))
    print(checked.validation.text())
    return OK if checked.validation.conforms else NOT_CONFORMING


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
