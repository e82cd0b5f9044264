"""Search: the only package that imports whoosh. The rest of the app uses what is imported
here: search() and suggest() with their shapes, and the index's repair tools.

Inside: schema and analyzers (schema, text, words), documents from database rows
(documents), the outbox written with every change (outbox, called by app/services/flush.py),
the node's index on disk (store), applying/rebuilding/checking it (sync), the index over its
life in a process (lifecycle), queries (service), the database fallback (fallback),
did-you-mean (spelling), snippets (highlight), the blueprint (views) and the `flask search`
commands (cli)."""

from app.search.lifecycle import ensure_index, rebuild_index
from app.search.results import SearchFilters, SearchResults, Suggestion
from app.search.service import search, suggest

__all__ = [
    "SearchFilters",
    "SearchResults",
    "Suggestion",
    "ensure_index",
    "rebuild_index",
    "search",
    "suggest",
]
