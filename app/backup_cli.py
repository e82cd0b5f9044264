"""`flask backup create PATH` and `flask backup restore PATH [--force]`: the whole site in
one file (database, photos, originals, report photos); see app/services/backup.py."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.services import backup

backup_cli = AppGroup("backup", help="Back up the site to one file, or restore one.")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def create_command(path: Path) -> None:
    """Write a backup of the database and files to PATH (replaced atomically)."""
    try:
        summary = backup.create_backup(path)
    except (backup.BackupError, OSError) as error:
        raise click.ClickException(f"backup failed: {error}") from None
    manifest = summary.manifest
    files = sum(1 for name in manifest["members"] if name.startswith("files/"))
    click.echo(
        f"Backup written to {summary.path}: {manifest['database']} database at "
        f"revision {manifest['schema_revision']}, "
        f"{sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables, "
        f"{files} files; {_megabytes(summary.size)} in {summary.seconds:.1f} s."
    )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(path: Path, force: bool) -> None:
    """Verify the backup at PATH, restore its database and files, rebuild the search index."""
    try:
        summary = backup.restore_backup(
            path, force=force, warn=lambda message: click.echo(f"Warning: {message}", err=True)
        )
    except (backup.BackupError, OSError) as error:
        raise click.ClickException(f"restore refused: {error}") from None
    manifest = summary.manifest
    click.echo(
        f"Restored {manifest['database']} backup of {manifest['created_at']} "
        f"({_megabytes(Path(path).stat().st_size)}) in {summary.seconds:.1f} s: "
        f"{summary.files_written} files, search index rebuilt "
        f"({summary.indexed} documents in {summary.index_seconds:.1f} s)."
    )
    if summary.upgraded_from:
        click.echo(
            f"The backup was at schema revision {summary.upgraded_from}; "
            "`flask db upgrade` was run to bring it to this code's revision."
        )
    click.echo(f"{'table':<28}{'backup':>10}{'restored':>10}")
    for name, expected in manifest["tables"].items():
        got = summary.counts.get(name, 0)
        flag = "" if got == expected else "  <- differs"
        click.echo(f"{name:<28}{expected:>10}{got:>10}{flag}")
    if summary.mismatches:
        raise click.ClickException(
            f"row counts differ from the manifest in {len(summary.mismatches)} tables"
        )
    click.echo("Row counts match the manifest.")
