"""The release being served, and the switch to a new one while the server runs.

`kzcn-kg build` publishes a release by renaming a new `build/current` symlink over the old one
(build/publish.py). A running server notices by itself, without a restart:

- **Noticing.** At most once per CHECK_SECONDS, the arrival of a request costs one readlink of
  `build/current`. If it points elsewhere, a background thread reads the new release (its
  manifest and files are checked, see release.verify), opens its store — for the embedded
  store, a new pool of query workers — and loads its example queries, then swaps it in. Until
  then every request is answered from the old release: none waits for the switch or fails.
- **One release per request.** The outermost middleware (PinRelease) takes a reference to the
  current release when a request arrives and keeps it in the WSGI environ until the response is
  made; the query service, the example queries, the downloads and the search index read that
  pinned release (`served()`), never "whatever is current now", so no answer mixes two
  versions. Every response names its release in `X-Kzcn-Version`, and every cache is keyed by
  the dataset version (answers and their ETags, whole responses, the search index), so nothing
  of the old release is served for the new one: old entries simply age out.
- **Closing the old one.** Its store is closed (its query workers stopped) when the last
  request pinned to it has its response. A pin is held while the application makes the
  response: every view builds its answer before returning, and a download streams a file it
  has already opened.
- **A bad new release** (unreadable manifest, missing file, store that does not open) is not
  switched to: the server keeps serving the old one, logs why, and looks again when `current`
  changes again.

With a remote store (KZCN_STORE) the engine is the same for every release, so only the
version changes: loading the new release into the engine is the deployment's job. Each web
worker process holds its own current release and switches on its own, within CHECK_SECONDS of
the others; each of its answers is still from one release."""

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request

from . import release as releases
from .config import Settings
from .examples import RELEASE_FOLDER, Example, ExampleError, load_examples
from .formats import RESULT_FORMATS
from .store import QueryJob, Store, StoreError, StoreUnavailable, open_store
from .store.embedded import EmbeddedStore

log = logging.getLogger("kzcn.release")  # written to stderr with the access log (ops.py)

CHECK_SECONDS = 1.0  # how stale `build/current` may be: one readlink per this, not per request
EXTENSION = "kzcn_release"  # app.extensions key of the CurrentRelease
PINNED = "kzcn.release"  # WSGI environ key of the request's Served release
VERSION_HEADER = "X-Kzcn-Version"


@dataclass(eq=False)
class Served:
    """One release as served: its manifest, its open store and its example queries."""

    release: releases.Release
    target: str | None  # what `build/current` pointed at when it was opened
    store: Store
    owns_store: bool  # an embedded store belongs to its release; a remote one is shared
    examples: dict[str, Example]
    users: int = 0  # requests pinned to it right now
    retired: bool = False  # no longer current: closed when its last user is done

    @property
    def version(self) -> str:
        return self.release.version


class CurrentRelease:
    """Holds the current Served release of one web worker and swaps in new ones."""

    def __init__(
        self,
        settings: Settings,
        on_switch: Callable[[Served], None] = lambda served: None,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.settings, self.on_switch, self.check_seconds = settings, on_switch, check_seconds
        self.lock = threading.Lock()
        self.shared: Store | None = None  # the remote store, the same for every release
        self.owned: list[Served] = []  # open releases with their own store, for counters()
        self.closed_counters: Counter[str] = Counter()
        self.switching = False
        self.failed_target: str | None = None
        self.served = self.open(releases.link_target(settings.build_dir))
        self.next_check = time.monotonic() + check_seconds
        on_switch(self.served)

    def open(self, target: str | None) -> Served:
        """Read, check and open the release `current` points at (slow: starts processes)."""
        release = releases.read(self.settings.build_dir, target)
        releases.verify_files(release)
        examples = {e.name: e for e in load_examples(release.path / RELEASE_FOLDER)}
        if self.shared is not None:
            return Served(release, target, self.shared, False, examples)
        try:
            settings = self.settings
            store = open_store(
                settings.store_url, release, settings.query_workers, settings.slow_query_cpu
            )
        except StoreUnavailable as error:
            raise releases.ReleaseBroken(
                f"The store of the release {release.path} cannot be opened: {error.message}"
            ) from None
        if not isinstance(store, EmbeddedStore):
            self.shared = store  # not tied to a release's files: kept across switches
            return Served(release, target, store, False, examples)
        served = Served(release, target, store, True, examples)
        try:
            self.check_graphs(served)
        except BaseException:
            store.close()
            raise
        with self.lock:
            self.owned.append(served)
        return served

    def check_graphs(self, served: Served) -> None:
        """Never half a graph: the store holds every graph the manifest counts."""
        for name, query in releases.graph_checks(served.release):
            job = QueryJob(query, RESULT_FORMATS[0])
            if not json.loads(served.store.run(job, self.settings.query_timeout))["boolean"]:
                raise releases.ReleaseBroken(
                    f"The store of the release {served.release.path} lacks the {name} graph "
                    "its manifest counts."
                )

    # --- a request's view ------------------------------------------------------------------

    def acquire(self) -> Served:
        """The current release, pinned until give_back(); may start a switch first."""
        if time.monotonic() >= self.next_check:
            self.check()
        with self.lock:
            served = self.served
            served.users += 1
        return served

    def give_back(self, served: Served) -> None:
        with self.lock:
            served.users -= 1
            done = served.retired and served.users == 0
        if done:
            self.close_served(served)

    def pinned(self) -> Served:
        """The release of the request being handled; outside a request (the shell, tests),
        the current one."""
        if has_request_context():
            served = request.environ.get(PINNED)
            if served is not None:
                return served
        return self.served

    # --- switching -------------------------------------------------------------------------

    def check(self) -> None:
        """Start a switch if `current` points somewhere new (one switch at a time)."""
        target = releases.link_target(self.settings.build_dir)
        with self.lock:
            self.next_check = time.monotonic() + self.check_seconds
            if self.switching or target in (None, self.served.target, self.failed_target):
                return
            self.switching = True
        threading.Thread(
            target=self.switch, args=(target,), daemon=True, name="kzcn-release-switch"
        ).start()

    def switch(self, target: str) -> None:
        new: Served | None = None
        try:
            new = self.open(target)
        except (releases.ReleaseMissing, StoreError, ExampleError) as error:
            log.warning("Still serving %s: %s", self.served.release.path, error)
        finally:
            idle = self.swap(new, target)
        if new is not None:
            self.on_switch(new)
            log.info("Now serving %s (version %s).", new.release.path, new.version)
        if idle is not None:
            self.close_served(idle)

    def swap(self, new: Served | None, target: str) -> Served | None:
        """Make `new` current (or remember that `target` failed); return the old release if
        no request is using it, so that it can be closed now rather than by its last user."""
        with self.lock:
            self.switching = False
            if new is None:
                self.failed_target = target
                return None
            old, self.served = self.served, new
            old.retired = True
            return old if old.users == 0 else None

    # --- closing and counting --------------------------------------------------------------

    def close_served(self, served: Served) -> None:
        if not served.owns_store:
            return
        served.store.close()
        with self.lock:
            if served in self.owned:
                self.owned.remove(served)
                self.closed_counters.update(served.store.counters())

    def counters(self) -> dict[str, float]:
        """The store's counters for /metrics, summed over every release served so far, so
        that a switch (a new pool of query workers) does not reset them."""
        totals = Counter(self.closed_counters)
        with self.lock:
            stores = [s.store for s in self.owned] + ([self.shared] if self.shared else [])
        for store in stores:
            totals.update(store.counters())
        return dict(totals)

    def close(self) -> None:
        with self.lock:
            owned, self.owned = list(self.owned), []
        for served in owned:
            served.store.close()
        if self.shared is not None:
            self.shared.close()


class PinRelease:
    """WSGI middleware: pin each request to the current release (see the module docstring)
    and say which one answered in every response."""

    def __init__(self, app: Callable[..., Iterable[bytes]], holder: CurrentRelease) -> None:
        self.app, self.holder = app, holder

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        served = self.holder.acquire()
        environ[PINNED] = served

        def stamped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(name.lower() == VERSION_HEADER.lower() for name, _ in headers):
                headers = [*headers, (VERSION_HEADER, served.version)]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, stamped)
        finally:
            self.holder.give_back(served)


class PinnedExamples(Mapping[str, Example]):
    """`app.extensions["kzcn_examples"]`: the example queries of the request's release."""

    def __init__(self, holder: CurrentRelease) -> None:
        self.holder = holder

    def __getitem__(self, name: str) -> Example:
        return self.holder.pinned().examples[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.holder.pinned().examples)

    def __len__(self) -> int:
        return len(self.holder.pinned().examples)


def served() -> Served:
    """The release the current request is served from (the current one outside a request)."""
    return current_app.extensions[EXTENSION].pinned()
