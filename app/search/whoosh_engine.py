"""The Whoosh engine behind app.search.engine's interface: a thin adapter over the node's
index (lifecycle, sync) and its queries (service); the outbox keeps it in step."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from app.search import lifecycle, outbox, service, sync
from app.search.results import SearchFilters, SearchResults, Suggestion


class WhooshEngine:
    name = "whoosh"

    def search(self, query: str, filters: SearchFilters, page: int, per_page: int) -> SearchResults:
        return service.whoosh_search(query, filters, page, per_page)

    def suggest(self, query: str, limit: int) -> list[Suggestion]:
        return service.whoosh_suggest(query, limit)

    def rebuild(self, progress: sync.Progress | None = None) -> sync.RebuildSummary:
        return sync.rebuild(lifecycle.get_store(), progress=progress)

    def ensure(self) -> str:
        return sync.ensure_index(lifecycle.get_store())

    def check(self, fix: bool = False) -> sync.CheckReport:
        return sync.check(lifecycle.get_store(), fix=fix)

    def answer_state(self) -> tuple | None:
        return service.whoosh_answer_state()

    def changed(self, session: Session, touched: Iterable[Any], deleted: set[Any]) -> None:
        outbox.write_outbox(session.connection(), touched, deleted)
