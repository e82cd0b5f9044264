"""`flask search …`: reindex (rebuild and swap in) and check [--fix], for either engine;
for the Whoosh engine also apply (catch up once) and worker (the node's single writer:
applies the outbox continuously, optimises when idle)."""

import signal
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db
from app.search import sync
from app.search.engine import current_engine
from app.search.lifecycle import get_store
from app.search.store import IndexUnavailable, LockBusy

search_cli = AppGroup("search", help="The search engine (Whoosh on this node, or PostgreSQL).")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search documents from the database (Whoosh: into a new directory,
    swapped in; PostgreSQL: in one transaction)."""

    def progress(docs, kind, total):
        with click.progressbar(
            docs, length=total, label=f"indexing {kind:<10}", file=sys.stderr
        ) as bar:
            yield from bar

    try:
        summary = current_engine().rebuild(progress=progress)
    except LockBusy:
        raise click.ClickException("another rebuild is running on this node") from None
    except OSError as exc:  # a full or read-only disk: say so, exit 1 (as `check --fix`)
        raise click.ClickException(f"the index could not be written: {exc}") from None
    finally:
        db.session.remove()
    plural = {
        "product": "products",
        "brand": "brands",
        "enterprise": "enterprises",
        "sign": "GI signs",
        "county": "counties",
    }
    counts = ", ".join(f"{n} {plural[kind]}" for kind, n in summary.counts.items())
    click.echo(
        f"Indexed {sum(summary.counts.values())} documents ({counts}) in "
        f"{summary.seconds:.1f} s; {summary.applied_after} changes applied after the "
        f"build; live index: {summary.directory} ({current_engine().name})"
    )


@search_cli.command("check")
@click.option("--fix", is_flag=True, help="Repair the differences found.")
def check_command(fix: bool) -> None:
    """Compare the engine's documents with the database and report the engine, the
    documents per kind and the differences; an engine that cannot be read is reported
    (exit 1), and rebuilt with --fix."""
    engine = current_engine()
    try:
        report = engine.check(fix=fix)
    except IndexUnavailable as exc:
        db.session.rollback()
        if not fix:
            raise click.ClickException(
                f"the search index cannot be read: {exc}. Run `flask search check --fix` "
                "or `flask search reindex` to rebuild it."
            ) from None
        click.echo(f"The search index cannot be read ({exc}); rebuilding it.")
        _rebuild_or_fail()
        click.echo("Rebuilt.")
        return
    finally:
        db.session.remove()
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(report.counts.items()))
    click.echo(f"Engine: {report.engine}; documents per kind: {counts or 'none'}.")
    click.echo(f"{report.indexed} documents indexed, {report.expected} expected.")
    for label, keys in (
        ("missing", report.missing),
        ("extra", report.extra),
        ("stale", report.stale),
    ):
        if keys:
            shown = ", ".join(keys[:20]) + (" …" if len(keys) > 20 else "")
            click.echo(f"{label}: {len(keys)} ({shown})")
    if report.ok:
        click.echo("Index and database agree.")
    elif report.fixed:
        if engine.name == "whoosh":
            get_store().clear_repair(since=time.time())
        click.echo("Fixed.")
    else:
        click.echo("Run `flask search check --fix` to repair.")
        sys.exit(1)


@search_cli.command("apply")
def apply_command() -> None:
    """Bring this node's index up to date: apply outbox rows it has not seen (waits for the
    writer lock), or rebuild it when it is missing, damaged or marked for repair. (The
    PostgreSQL engine has no outbox: nothing to apply.)"""
    if current_engine().name != "whoosh":
        click.echo("The PostgreSQL engine is written with each change: nothing to apply.")
        return
    store = get_store()
    try:
        if store.repair_requested():
            raise IndexUnavailable("a repair was requested")
        applied = sync.catch_up(store, timeout=30)
    except IndexUnavailable as exc:
        db.session.rollback()
        click.echo(f"The search index cannot be used ({exc}); rebuilding it.")
        _rebuild_or_fail()
        click.echo("Rebuilt.")
        return
    finally:
        db.session.remove()
    click.echo(f"Applied {applied or 0} outbox rows.")


def _rebuild_or_fail() -> None:
    try:
        current_engine().rebuild()
    except LockBusy:
        raise click.ClickException("another rebuild is running on this node") from None
    except OSError as exc:  # a full or read-only disk: say so, exit 1
        raise click.ClickException(f"the index could not be written: {exc}") from None


@search_cli.command("worker")
@click.option("--interval", default=0.2, show_default=True, help="Seconds between polls.")
@click.option(
    "--idle-optimize",
    default=30.0,
    show_default=True,
    help="Merge segments after this many idle seconds.",
)
def worker_command(interval: float, idle_optimize: float) -> None:
    """Run this node's writer: rebuild when the index is missing or corrupt, then apply
    the outbox as it grows and optimise when idle. Run one per node (Whoosh engine only)."""
    if current_engine().name != "whoosh":
        raise click.ClickException(
            "the PostgreSQL engine needs no worker: documents are written with each change"
        )
    store = get_store()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    idle_since = time.monotonic()
    optimized = False
    click.echo(f"search worker: index under {store.root}", err=True)
    while not stopping:
        try:
            try:
                if store.repair_requested():
                    raise IndexUnavailable("a repair was requested")
                applied = sync.catch_up(store, timeout=5)
            except IndexUnavailable as exc:
                click.echo(f"search worker: {exc}; rebuilding", err=True)
                sync.rebuild(store)
                applied = 0
            if applied:
                idle_since, optimized = time.monotonic(), False
            elif not optimized and time.monotonic() - idle_since > idle_optimize:
                sync.optimize(store)
                optimized = True
        except KeyboardInterrupt:
            break
        except Exception as exc:  # noqa: BLE001 - keep serving; the next poll retries
            current_app.logger.exception("search worker: %s", exc)
        finally:
            db.session.remove()
        time.sleep(interval)
