"""A bounded map that drops its least recently used entry first, safe across threads:
the page store's responses (app/caching/store.py) and the rendered search pages
(app/search/views.py) are both kept in one."""

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LeastRecentlyUsed(Generic[K, V]):
    """`put` takes the limit each time because the owners read it from the app's config
    (a test or an operator may change it while the process runs); 0 keeps nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V, limit: int) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
