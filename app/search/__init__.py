"""Search: the only package that imports whoosh. Schema and analyzers (schema, text),
documents from database rows (documents), the outbox written with every change (outbox),
the node's index on disk (store), applying/rebuilding/checking it (sync), queries
(service), the blueprint (views) and the `flask search` commands (cli)."""
from app.search import outbox  # noqa: F401 - registers the outbox session hooks
