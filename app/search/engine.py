"""One search interface, two engines. The site calls app.search.search()/suggest() and the
`flask search` commands call rebuild()/check(); which engine answers is chosen once per
app by SEARCH_BACKEND:

- `whoosh`: the node's own Whoosh index (store, sync, lifecycle), kept in step through the
  outbox. The default on SQLite: a laptop, one server.
- `postgresql`: the search_documents table in the site's own PostgreSQL database
  (app.search.postgresql), written in the same transaction as the listing change, so every
  app server sees a publish at commit and there is no outbox to drain.
- `auto` (default): postgresql when the database is PostgreSQL, else whoosh.

Both engines answer the same query tree (service.build_query) with the same boosts, and
are held to one conformance suite (tests/test_search*.py, parametrised by engine)."""

from collections.abc import Iterable
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.search.results import SearchFilters, SearchResults, Suggestion
from app.search.sync import CheckReport, Progress, RebuildSummary

BACKENDS = ("auto", "whoosh", "postgresql")
__all__ = ["CheckReport", "SearchEngine", "current_engine", "ensure_index", "rebuild_index"]


class SearchEngine(Protocol):
    name: str

    def search(self, query: str, filters: SearchFilters, page: int, per_page: int) -> SearchResults:
        """One page of ranked hits with facet counts; never raises (falls back to the
        database with source="database")."""
        ...

    def suggest(self, query: str, limit: int) -> list[Suggestion]: ...

    def rebuild(self, progress: Progress | None = None) -> RebuildSummary:
        """Every published document written afresh; readers never see a partial set."""
        ...

    def ensure(self) -> str:
        """Leave the engine complete and current: "rebuilt" or "current"."""
        ...

    def check(self, fix: bool = False) -> CheckReport:
        """Compare the engine's documents with the database (and repair with fix).
        Raises store.IndexUnavailable when the engine cannot be read at all."""
        ...

    def answer_state(self) -> tuple | None:
        """What an answer depends on besides its parameters, the catalogue generation and
        the synonyms: a hashable value that changes whenever the engine's documents do
        (the rendered-search cache keys on it), or None when answers must not be kept."""
        ...

    def changed(self, session: Session, touched: Iterable[Any], deleted: set[Any]) -> None:
        """Called by the flush hook (app/services/flush.py) with what a flush wrote; acts
        in the same transaction."""
        ...


def backend_for(setting: str, database_url: str) -> str:
    """The engine a SEARCH_BACKEND setting picks for this database URL ("whoosh" or
    "postgresql"). Raises ValueError for a value that is no engine."""
    value = (setting or "auto").strip().lower()
    if value not in BACKENDS:
        raise ValueError(
            f"SEARCH_BACKEND={setting!r} is not a search engine; use one of {', '.join(BACKENDS)}"
        )
    dialect = make_url(database_url).get_backend_name()
    if value == "auto":
        return "postgresql" if dialect == "postgresql" else "whoosh"
    if value == "postgresql" and dialect != "postgresql":
        raise ValueError("SEARCH_BACKEND=postgresql needs a PostgreSQL DATABASE_URL")
    return value


def init_app(app: Flask) -> None:
    """Check SEARCH_BACKEND at start-up (a bad value stops the app with the reason) and
    record the engine chosen. Builds nothing: the engine opens at first use."""
    app.config["SEARCH_ENGINE"] = backend_for(
        app.config.get("SEARCH_BACKEND", "auto"), app.config["SQLALCHEMY_DATABASE_URI"]
    )


def current_engine() -> SearchEngine:
    """This app's engine (one per app, made at first use)."""
    found = current_app.extensions.get("search_engine")
    if found is None:
        found = current_app.extensions.setdefault("search_engine", _make(engine_name()))
    return found


def engine_name() -> str:
    return current_app.config.get("SEARCH_ENGINE") or backend_for(
        current_app.config.get("SEARCH_BACKEND", "auto"),
        current_app.config["SQLALCHEMY_DATABASE_URI"],
    )


def _make(name: str) -> SearchEngine:
    if name == "postgresql":
        from app.search.postgresql import PostgresEngine

        return PostgresEngine()
    from app.search.whoosh_engine import WhooshEngine

    return WhooshEngine()


def rebuild_index(progress: Progress | None = None) -> RebuildSummary:
    """Rebuild this app's engine from the database now (Whoosh: raises store.LockBusy when
    another process holds the writer lock, OSError when the disk refuses)."""
    return current_engine().rebuild(progress)


def ensure_index() -> str:
    """Leave this app's engine complete and current: "rebuilt" or "current" (called at the
    end of `flask seed`)."""
    return current_engine().ensure()


def committing(session: Session) -> None:
    """The commit hook's entry: the PostgreSQL engine writes this transaction's documents
    now, inside it (Whoosh has nothing to do: its outbox rows are written at flush)."""
    if has_app_context() and engine_name() == "postgresql":
        from app.search import postgresql

        postgresql.before_commit(session)


def rolled_back(session: Session) -> None:
    from app.search.postgresql import forget_pending

    forget_pending(session)


def flushed(session: Session, touched: Iterable[Any], deleted: set[Any]) -> None:
    """The flush hook's entry: hand what a flush wrote to this app's engine (outside an
    app, e.g. a bare script's session, the Whoosh outbox is written: any node catches up)."""
    if has_app_context():
        current_engine().changed(session, touched, deleted)
    else:
        from app.search import outbox

        outbox.write_outbox(session.connection(), touched, deleted)
