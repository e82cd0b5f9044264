"""Command groups: seed (and, as their issues land, search and users)."""

import sys

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from app.db import db
from app.models import Product
from app.services.seed import SeedLoader
from app.storage import StorageUnavailable


@click.command("seed")
@click.option("--if-empty", is_flag=True, help="Only load when the catalogue has no products.")
def seed_command(if_empty: bool) -> None:
    """Load seed/ into the database (idempotent: running it twice changes nothing)."""
    if if_empty and db.session.scalar(select(func.count(Product.id))):
        click.echo("Catalogue already has data; seed skipped.")
        _ensure_search_index()
        return

    def progress(items):
        items = list(items)
        with click.progressbar(items, label="seeding", file=sys.stderr) as bar:
            yield from bar

    loader = SeedLoader(
        current_app.config["SEED_DIR"], current_app.config["MEDIA_ROOT"], progress=progress
    )
    try:
        counts = loader.run()
    except StorageUnavailable as exc:  # photos on a full or read-only disk: nothing saved
        db.session.rollback()
        raise click.ClickException(f"{exc.description}; nothing was saved") from None
    db.session.commit()
    click.echo("Seeded: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    _ensure_search_index()


def _ensure_search_index() -> None:
    """Leave a complete index behind, so the first search is answered at full quality
    (pinyin, initials, ranking) rather than by the database fallback."""
    from app.search import ensure_index

    try:
        outcome = ensure_index()
    except OSError as exc:  # a full or read-only disk: the site still runs, on the fallback
        raise click.ClickException(f"the search index could not be written: {exc}") from None
    finally:
        db.session.remove()
    click.echo("Search index " + ("rebuilt." if outcome == "rebuilt" else "up to date."))


def register(app: Flask) -> None:
    from app.admin.cli import audit_cli, users_cli
    from app.backup_cli import backup_cli
    from app.search.cli import search_cli

    app.cli.add_command(seed_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(backup_cli)
