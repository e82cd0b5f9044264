"""Command groups of the back office: `users` (create, set-password, disable) and
`audit verify`."""

import contextlib
import functools
import sys
from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db
from app.models.users import Role
from app.services import accounts
from app.services.audit import verify_chain
from app.text_input import unstorable


class StorableText(click.ParamType):
    """Text for the database: refuses what no text column may store (app/text_input.py),
    e.g. a byte that is not UTF-8 in the terminal (a lone surrogate) or a control character."""

    name = "text"

    def convert(self, value, param, ctx):
        problem = unstorable(value)
        if problem is not None:
            self.fail(
                f"contains a character that cannot be saved ({problem.described}, "
                f"character {problem.position}).",
                param,
                ctx,
            )
        return value


TEXT = StorableText()

users_cli = AppGroup("users", help="Back-office accounts.")
audit_cli = AppGroup("audit", help="The hash-chained audit log.")


def in_english(command):
    """Messages from the services are translated per request; the CLI speaks English."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with current_app.test_request_context(headers={"Accept-Language": "en"}):
            return command(*args, **kwargs)

    return wrapper


def _user_or_exit(email: str):
    user = accounts.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with the e-mail {email}.")
    return user


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, type=TEXT)


@contextlib.contextmanager
def _account_change() -> Iterator[None]:
    """Commit what the block changes; an AccountError becomes the command's error message
    (exit status 1), with nothing committed."""
    try:
        yield
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()


@users_cli.command("create")
@click.option("--email", required=True, type=TEXT)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--county",
    "counties",
    multiple=True,
    type=TEXT,
    help="County slug (e.g. wenchang); repeat for several. Editors need one.",
)
@click.option("--name", default="", type=TEXT)
@click.option("--password", default=None, type=TEXT, help="Prompted for when not given.")
@in_english
def create_user(email, role, counties, name, password) -> None:
    """Create an account."""
    with _account_change():
        user = accounts.create_user(
            email, _password(password), Role(role), accounts.counties_by_slug(list(counties)), name
        )
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("set-password")
@click.option("--email", required=True, type=TEXT)
@click.option("--password", default=None, type=TEXT, help="Prompted for when not given.")
@in_english
def set_password(email, password) -> None:
    """Set a new password (signs out every session of the account)."""
    user = _user_or_exit(email)
    with _account_change():
        accounts.set_password(user, _password(password))
    click.echo(f"Password set for {user.email}; its sessions were signed out.")


@users_cli.command("disable")
@click.option("--email", required=True, type=TEXT)
def disable(email) -> None:
    """Disable an account and sign out all its sessions."""
    user = _user_or_exit(email)
    accounts.disable_user(user)
    db.session.commit()
    click.echo(f"Disabled {user.email}.")


@audit_cli.command("verify")
@click.option(
    "--head", default=None, help="A head hash noted earlier; it must still be in the chain."
)
def verify(head) -> None:
    """Check the hash chain; exits 1 when an entry was edited or deleted."""
    report = verify_chain(expected_head=head)
    for problem in report.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    click.echo(f"{report.count} entries; head {report.head}")
    if not report.ok:
        sys.exit(1)
    click.echo("Audit chain intact.")
