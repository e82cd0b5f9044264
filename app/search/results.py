"""The shapes search answers with, whether the index or the database fallback found the
hits: filters in, results (a page of hits, facet counts, a spelling suggestion) and
autocomplete suggestions out."""

import functools
from dataclasses import dataclass, field

from markupsafe import Markup

from app.search import highlight
from app.search.documents import DocKey
from app.services.catalogue import Pagination

FACETS = ("kind", "county", "category", "regime")


@dataclass(frozen=True)
class SearchFilters:
    kind: str | None = None
    county: str | None = None
    category: str | None = None
    regime: str | None = None

    def active(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FACETS if getattr(self, name)}


@dataclass
class Hit:
    """One result: its key, its row (loaded for display), and what marks its snippet:
    `body`, the engine's stored text (both languages), and `terms`, the query's words
    (None: nothing to mark, as for the database fallback's hits)."""

    key: DocKey
    obj: object
    body: str | None = None
    terms: highlight.HighlightTerms | None = None

    @functools.cached_property
    def snippet(self) -> Markup | None:
        """The marked stretch of the stored body (both languages), made when first asked:
        the search page shows a snippet in its own language instead (app/search/lines.py)."""
        if not self.body or self.terms is None:
            return None
        return highlight.snippet(self.body, self.terms)


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass
class SearchResults(Pagination):
    query: str
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None  # "did you mean"
    corrected: bool = False  # hits are for the suggestion, the query itself found nothing
    no_correction: bool = False  # nothing found, and no catalogue word is close to it
    source: str = "index"  # or "database" when the index is unavailable
    terms: highlight.HighlightTerms | None = None  # the searched words, to mark snippets


@dataclass
class Suggestion:
    key: DocKey
    label: dict
