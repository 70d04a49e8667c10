"""Answers by (dataset version, query, format, dataset parameters), bounded in bytes.

The dataset changes only when a new release is published, and the version is part of the
key, so an entry never goes stale: it is only ever evicted to make room."""

import threading
from collections import OrderedDict


class ResultCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self.lock:
            body = self.entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:  # one huge answer must not flush everything
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = body
            self.size += len(body)
            while self.size > self.max_bytes:
                _, evicted = self.entries.popitem(last=False)
                self.size -= len(evicted)
