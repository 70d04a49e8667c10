"""A least-recently-used cache bounded in bytes, safe across threads.

Everything cached here is keyed by the dataset version (directly or through the ETag), and a
release never changes, so an entry never goes stale: after a switch to a new release
(current_release.py) the old version's entries are simply never asked for again, and are
evicted to make room like any other."""

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def admits(self, size: int) -> bool:
        """Whether an entry of `size` bytes may be cached: one huge answer must not flush
        everything else."""
        return size <= self.max_bytes // 8

    def put(self, key: K, value: V, size: int) -> None:
        if not self.admits(size):
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, evicted) = self.entries.popitem(last=False)
                self.size -= evicted
