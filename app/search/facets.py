"""Facet counts without Whoosh's FacetCollector, which asked four column readers for every
matching document (and re-read each column's offsets on every search): most of a broad
query's time. Here each document's facet values are read once per index segment into a
list of small integers (one per distinct combination of values), the scoring pass records
the matching document numbers, and counting is one C-level Counter over those integers."""

import threading
from array import array
from collections import Counter

from whoosh import collectors

# Facet name -> sortable column; multi-valued facets hold "a,b" in one column value.
COUNT_FIELDS = {
    "kind": "kind",
    "county": "f_county_set",
    "category": "f_category",
    "regime": "f_regime_set",
}

Combination = tuple[tuple[str, ...], ...]  # one tuple of values per facet, COUNT_FIELDS order


class MatchRecordingCollector(collectors.TopCollector):
    """Top-N by score that also records every matching document number. Block-quality
    skipping and matcher replacement are off: they drop documents that cannot reach the
    top N, and every match must be counted (KindWeighting's final() turns skipping off
    anyway)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, usequality=False, replace=0)
        self.matched = array("I")

    def _collect(self, global_docnum, score):
        self.matched.append(global_docnum)
        return super()._collect(global_docnum, score)


def _split(value) -> tuple[str, ...]:
    if isinstance(value, bytes):
        value = value.decode()
    return tuple(v for v in (value or "").split(",") if v)


class FacetTable:
    """Per searcher (kept on it): document number -> combination id, and the combinations.
    A segment never changes its documents' values (a deletion only hides them), so they are
    cached by segment id and only a new segment (an applied edit) is read again."""

    def __init__(self) -> None:
        self._segments: dict[str, list[Combination]] = {}
        self._lock = threading.Lock()

    def _segment_values(self, reader) -> list[Combination]:
        segment = reader.segment()
        segment_id = segment.segment_id() if segment is not None else None
        cached = self._segments.get(segment_id) if segment_id else None
        if cached is not None:
            return cached
        columns = [list(reader.column_reader(field)) for field in COUNT_FIELDS.values()]
        interned: dict[Combination, Combination] = {}
        values = [
            interned.setdefault(combo, combo)
            for combo in zip(*(map(_split, column) for column in columns), strict=True)
        ]
        if segment_id:
            self._segments[segment_id] = values
        return values

    def table(self, searcher) -> tuple[array, list[Combination]]:
        cached = getattr(searcher, "_facet_table", None)
        if cached is not None:
            return cached
        with self._lock:
            ids: dict[Combination, int] = {}
            of_doc = array("I")
            live_segments = set()
            for reader, _offset in searcher.reader().leaf_readers():
                segment = reader.segment()
                if segment is not None:
                    live_segments.add(segment.segment_id())
                of_doc.extend(ids.setdefault(c, len(ids)) for c in self._segment_values(reader))
            # Forget segments merged away.
            self._segments = {k: v for k, v in self._segments.items() if k in live_segments}
        searcher._facet_table = (of_doc, list(ids))
        return searcher._facet_table

    def count(self, searcher, docnums) -> dict[str, dict[str, int]]:
        of_doc, combos = self.table(searcher)
        per_combo = Counter(map(of_doc.__getitem__, docnums))
        counts: dict[str, dict[str, int]] = {name: {} for name in COUNT_FIELDS}
        names = list(COUNT_FIELDS)
        for combo_id, n in per_combo.items():
            for name, values in zip(names, combos[combo_id], strict=True):
                bucket = counts[name]
                for value in values:
                    bucket[value] = bucket.get(value, 0) + n
        return counts


TABLE = FacetTable()
