"""Search: the only package that imports whoosh or writes search SQL. The rest of the app
uses what is imported here: search() and suggest() with their shapes, and the engine's
repair tools. One interface (engine), two engines: Whoosh (whoosh_engine, below) and
PostgreSQL's full-text search (postgresql), chosen by SEARCH_BACKEND.

Inside: schema and analyzers (schema, text, words), documents from database rows
(documents), the outbox written with every change (outbox, called by app/services/flush.py),
the node's index on disk (store), applying/rebuilding/checking it (sync), the index over its
life in a process (lifecycle), queries (service), the database fallback (fallback),
did-you-mean (spelling), snippets (highlight), the blueprint (views) and the `flask search`
commands (cli)."""

from app.search.engine import current_engine, ensure_index, rebuild_index
from app.search.results import SearchFilters, SearchResults, Suggestion
from app.search.service import search, suggest

__all__ = [
    "SearchFilters",
    "SearchResults",
    "Suggestion",
    "current_engine",
    "ensure_index",
    "rebuild_index",
    "search",
    "suggest",
]
