"""Signing in and out: sessions renewed and invalidated on the server, idle timeout, safe
redirects, throttling (memory and the real Redis), CSRF, password policy, CLI."""

import os
import time

import pytest
from sqlalchemy import select

from app import create_app
from app.db import db
from app.models import AuditEntry, User
from app.services import accounts
from tests.admin_support import (
    EMAILS,
    PASSWORD,
    csrf_token,
    login,
    make_users,
    post_form,
    signed_in,
)
from tests.conftest import make_config

# Most tests here call services or db.session themselves (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("app_ctx")


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_login_renews_the_session_and_a_pre_login_token_no_longer_works(app):
    make_users()
    client = app.test_client()
    token_before = csrf_token(client)
    cookie_before = session_cookie(client)
    response = login(client, "editor_a")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert session_cookie(client) != cookie_before
    # The CSRF secret lived in the old session: a form from before the login is refused.
    assert client.post("/admin/logout", data={"csrf_token": token_before}).status_code == 400
    assert client.get("/admin/").status_code == 200


def test_wrong_password_is_refused_audited_and_does_not_say_which_part_was_wrong(app):
    make_users()
    client = app.test_client()
    for email in (EMAILS["editor_a"], "nobody@hainan.example"):
        response = client.post(
            "/admin/login?lang=en",
            data={
                "csrf_token": csrf_token(client),
                "email": email,
                "password": "wrong-password-123",
            },
        )
        assert response.status_code == 200
        assert "Wrong e-mail or password" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    failed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
    assert [e.actor_email for e in failed] == [EMAILS["editor_a"], "nobody@hainan.example"]


def test_replayed_cookie_after_logout_is_rejected(app):
    client = signed_in(app, "editor_a")
    stolen = session_cookie(client)
    assert client.get("/admin/").status_code == 200
    response = client.post(
        "/admin/logout", data={"csrf_token": csrf_token(client, "/admin/logout")}
    )
    assert response.status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    response = attacker.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_password_change_signs_out_other_sessions_but_not_this_one(app):
    make_users()
    phone, desktop = app.test_client(), app.test_client()
    login(phone, "editor_a")
    login(desktop, "editor_a")
    new_password = "Coconut-palms-of-Hainan-2"
    response = post_form(
        desktop,
        "/admin/account/password",
        {
            "current": PASSWORD,
            "new": new_password,
        },
    )
    assert response.status_code == 302
    assert desktop.get("/admin/").status_code == 200
    assert phone.get("/admin/").status_code == 302
    assert login(app.test_client(), "editor_a", new_password).status_code == 302
    assert login(app.test_client(), "editor_a", PASSWORD).status_code == 200


def test_password_change_refuses_a_common_password_and_keeps_the_old_one(app):
    client = signed_in(app, "editor_a")
    response = post_form(
        client,
        "/admin/account/password?lang=en",
        {
            "current": PASSWORD,
            "new": "qwertyuiop",
        },
    )
    assert "too common" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200
    assert login(app.test_client(), "editor_a").status_code == 302


def test_disabled_account_loses_its_session_and_cannot_sign_in(app, runner):
    client = signed_in(app, "editor_b")
    result = runner.invoke(args=["users", "disable", "--email", EMAILS["editor_b"]])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    assert login(app.test_client(), "editor_b").status_code == 200


def test_idle_session_expires(app):
    client = signed_in(app, "reviewer")
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302  # and it stays signed out


def test_anonymous_visit_remembers_where_it_was_going(app):
    make_users()
    client = app.test_client()
    response = client.get("/admin/brands/?status=draft")
    assert response.headers["Location"] == "/admin/login?next=/admin/brands/?status%3Ddraft"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/admin/brands/?status=draft"' in html


def test_cookies_and_headers(app):
    make_users()
    client = app.test_client()
    response = login(client, "editor_a")
    cookies = response.headers.getlist("Set-Cookie")
    session_header = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_header and "SameSite=Lax" in session_header
    page = client.get("/admin/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.get_data(as_text=True)
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True


def test_missing_csrf_token_is_a_clear_400_and_changes_nothing(app):
    make_users()
    client = app.test_client()
    response = client.post(
        "/admin/login?lang=en", data={"email": EMAILS["admin"], "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login")) is None


# --- throttling ------------------------------------------------------------------------------


def _fail(client, email: str, lang: str = "en"):
    return client.post(
        f"/admin/login?lang={lang}",
        data={"csrf_token": csrf_token(client), "email": email, "password": "not-the-password-1"},
    )


def test_account_is_throttled_after_five_failures_but_its_owner_is_not_locked_out(app):
    make_users()
    owner = app.test_client()
    assert login(owner, "editor_a").status_code == 302  # this browser is now a known device
    owner.post("/admin/logout", data={"csrf_token": csrf_token(owner, "/admin/logout")})
    attacker = app.test_client()
    statuses = [_fail(attacker, EMAILS["editor_a"]).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    blocked = _fail(attacker, EMAILS["editor_a"])
    assert blocked.status_code == 429
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)
    # Even the right password is refused to the attacker's browser while the limit holds...
    assert login(attacker, "editor_a").status_code == 429
    # ...but the owner's browser, which signed in before, still gets in.
    assert login(owner, "editor_a").status_code == 302
    # Another account from the same address is not affected by this account's limit.
    assert login(app.test_client(), "editor_b").status_code == 302


def test_throttle_message_speaks_chinese(app):
    make_users()
    client = app.test_client()
    for _ in range(5):
        _fail(client, EMAILS["reviewer"], lang="zh")
    response = _fail(client, EMAILS["reviewer"], lang="zh")
    assert response.status_code == 429
    assert "登录尝试次数过多" in response.get_data(as_text=True)


def test_one_address_is_throttled_across_accounts(app):
    make_users()
    client = app.test_client()
    statuses = [_fail(client, f"guess{n}@hainan.example").status_code for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        return None
    return url


def test_throttle_counts_are_shared_through_redis(database_factory, tmp_path, media_root):
    """Two app servers on one Redis: failures on one count on the other."""
    url = _redis_url()
    if url is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis on 127.0.0.1:6379 is required in CI")
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    import redis

    from app.extensions import limiter

    config = type(
        "RedisConfig",
        (make_config(database_factory(), tmp_path, media_root),),
        {"RATELIMIT_STORAGE_URI": url},
    )
    first, second = create_app(config), create_app(config)
    with first.app_context():
        make_users()
    limiter.reset()  # database 15 is the tests' own: start from zero
    try:
        for server in (first, second, first, second, first):
            with server.app_context():
                assert _fail(server.test_client(), EMAILS["admin"]).status_code == 200
        with second.app_context():
            assert _fail(second.test_client(), EMAILS["admin"]).status_code == 429
        keys = redis.Redis.from_url(url).keys("LIMITS:*login-account*")
        assert keys, "no rate-limit counters were written to Redis"
    finally:
        limiter.reset()
        for server in (first, second):
            with server.app_context():
                db.session.remove()
                db.engine.dispose()


# --- password policy and the CLI --------------------------------------------------------------


@pytest.mark.parametrize(
    "password, ok",
    [
        ("short-9", False),
        ("1234567890", False),
        ("qwertyuiop", False),
        ("aaaaaaaaaaaa", False),
        ("wenchang-office-2025", False),  # contains the e-mail name
        ("Coconut-palms-of-Wenchang-2", True),
        ("x" * 201, False),
    ],
)
def test_password_policy(app, password, ok):
    with app.test_request_context():
        assert (accounts.password_problems(password, "wenchang-office@hainan.example") == []) is ok


def test_passwords_are_hashed_with_scrypt(app):
    people = make_users()
    assert people["admin"].password_hash.startswith("scrypt:")
    assert PASSWORD not in people["admin"].password_hash


def test_cli_creates_users_and_sets_passwords(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "editor",
            "--county",
            "wenchang",
            "--email",
            "Official@Wenchang.example",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "official@wenchang.example"))
    assert user.role == "editor" and [c.slug for c in user.counties] == ["wenchang"]
    token = user.session_token
    result = runner.invoke(
        args=["users", "set-password", "--email", "official@wenchang.example"],
        input="Another-fine-password-7\nAnother-fine-password-7\n",
    )
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.session_token != token
    assert accounts.password_matches(user, "Another-fine-password-7")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "editor", "--email", "a@b.example"], "needs at least one county"),
        (["--role", "editor", "--county", "atlantis", "--email", "a@b.example"], "Unknown county"),
        (
            ["--role", "reviewer", "--email", "a@b.example", "--password", "password123"],
            "too common",
        ),
    ],
)
def test_cli_refuses_bad_accounts(app, runner, args, message):
    result = runner.invoke(
        args=["users", "create", *args, "--password", PASSWORD]
        if "--password" not in args
        else ["users", "create", *args]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(User).where(User.email == "a@b.example")) is None


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# The address as typed or pasted: a Chinese IME's full-width forms, invisible characters
# copied along with it, spaces around it (issue 8, kind 2: one normaliser for typed text).
TYPED_ADDRESSES = [
    lambda e: e + "\u200b",
    lambda e: "\ufeff" + e,
    lambda e: e[:3] + "\u00ad" + e[3:],
    lambda e: e.replace("@", "\u2060@"),
    lambda e: _full_width(e),
    lambda e: e.replace("@", "＠"),
    lambda e: "\u3000" + e + " ",
    lambda e: e.upper(),
]


@pytest.mark.parametrize("typed", TYPED_ADDRESSES)
def test_sign_in_with_the_address_as_typed_or_pasted(client, typed):
    make_users()
    response = login(client, typed(EMAILS["admin"]))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert client.get("/admin/").status_code == 200
