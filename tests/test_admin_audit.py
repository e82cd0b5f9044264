"""The audit log: append-only, hash-chained, verified by `flask audit verify`, and
viewable and filterable by admins only."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.db import db
from app.models import AuditEntry
from app.services import audit
from tests.admin_support import login, make_users

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


def drop_append_only_triggers() -> None:
    """What an attacker with owner rights on the database would do first."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        db.session.execute(text("DROP TRIGGER audit_log_no_update"))
        db.session.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.fixture
def chain(app):
    make_users()
    for n in range(5):
        audit.record("update", None, object_type="products", object_id=n, details={"n": [n, n + 1]})
    db.session.commit()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()


def test_intact_chain_verifies(app, runner, chain):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{len(chain)} entries" in result.output and "intact" in result.output
    assert chain[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))


def test_the_database_refuses_updates_and_deletes(app, chain):
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = 2"))
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    db.session.rollback()
    with pytest.raises(RuntimeError):
        chain[1].action = "edited"
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("tampering", "report"),
    [
        ("UPDATE audit_log SET details = '{}' WHERE seq = 3", "entry 3 was changed"),
        ("DELETE FROM audit_log WHERE seq = 3", "entries 3..3 are missing"),
    ],
    ids=["edited", "deleted"],
)
def test_verify_detects_an_edited_or_deleted_entry(app, runner, chain, tampering, report):
    drop_append_only_triggers()
    db.session.execute(text(tampering))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert report in result.output


def test_verify_detects_a_rewritten_tail_against_a_noted_head(app, runner, chain):
    head = chain[-1].hash
    drop_append_only_triggers()
    db.session.execute(text(f"DELETE FROM audit_log WHERE seq = {chain[-1].seq}"))
    db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # a clean cut is invisible...
    result = runner.invoke(args=["audit", "verify", "--head", head])
    assert result.exit_code == 1  # ...unless the head was noted elsewhere
    assert "expected head" in result.output


def test_audit_view_is_for_admins_and_filters(app):
    make_users()
    for who in ("editor_a", "reviewer"):
        client = app.test_client()
        login(client, who)
        assert client.get("/admin/audit/").status_code == 403
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/audit/?action=login").get_data(as_text=True)
    assert "wenchang@hainan.example" in page and "reviewer@hainan.example" in page
    page = admin.get("/admin/audit/?action=login&actor=wenchang").get_data(as_text=True)
    assert "wenchang@hainan.example" in page and "reviewer@hainan.example" not in page
    page = admin.get("/admin/audit/?action=login_failed").get_data(as_text=True)
    assert "wenchang@hainan.example" not in page
    assert admin.get("/admin/audit/?since=not-a-date&object_id=-4&page=x").status_code == 200
