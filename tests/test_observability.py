"""Issue 8, kind 10: every unexpected exception is logged with its traceback and a request
id; the id is on the error page and in X-Request-ID on every response; one access line per
request. The crashing routes are registered on the test's own app, never in production."""

import logging
import re

import pytest
from werkzeug.exceptions import InternalServerError

from app import create_app
from app.observability import ACCESS_LOGGER, logging_config, request_id_from
from tests.conftest import make_config

ID = re.compile(r"[0-9a-f]{16}")


class Boom(RuntimeError):
    pass


@pytest.fixture
def crashing_app(database_factory, tmp_path, media_root):
    """An app as production runs it (exceptions answered, not propagated) with routes that
    fail in different places, added here only."""
    app = create_app(make_config(database_factory(), tmp_path, media_root))
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-only/crash")
    def crash():
        raise Boom("the view failed")

    @app.get("/api/v1/test-only/crash")
    def api_crash():
        raise Boom("the API view failed")

    @app.get("/test-only/key-error")
    def key_error():
        return {}["missing"]

    yield app
    with app.app_context():
        from app.db import db

        db.engine.dispose()


def error_records(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("/test-only/crash?lang=en", {}, "Boom: the view failed"),
        ("/test-only/crash?lang=zh", {}, "Boom: the view failed"),
        ("/test-only/crash", {"Accept-Language": "en"}, "Boom: the view failed"),
        ("/test-only/key-error?lang=en", {}, "KeyError: 'missing'"),
        (
            "/test-only/crash?lang=en",
            {"X-Request-ID": "nginx-0123456789abcdef"},
            "Boom: the view failed",
        ),
    ],
)
def test_a_crash_is_logged_with_traceback_and_the_id_is_on_the_page(
    crashing_app, logs, url, headers, error
):
    response = crashing_app.test_client().get(url, headers=headers, buffered=True)
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert request_id == headers.get("X-Request-ID", request_id)
    page = response.get_data(as_text=True)
    assert request_id in page
    assert ("Request ID" in page) or ("请求编号" in page)
    [record] = error_records(logs)
    assert request_id in record.getMessage() and record.request_id == request_id
    assert record.exc_info is not None
    assert error in logs.text or error in "".join(
        logging.Formatter().formatException(record.exc_info).splitlines()[-1:]
    )


def test_an_api_crash_is_json_with_the_id(crashing_app, logs):
    response = crashing_app.test_client().get("/api/v1/test-only/crash", buffered=True)
    assert response.status_code == 500 and response.mimetype == "application/json"
    request_id = response.headers["X-Request-ID"]
    assert response.get_json()["error"]["request_id"] == request_id
    [record] = error_records(logs)
    assert request_id in record.getMessage() and record.exc_info[0] is Boom


def test_a_failing_error_page_still_answers_with_the_id(crashing_app, logs):
    """The error page's own template fails: the page that needs nothing is sent, and both
    failures are logged."""

    def broken_template(*_args, **_kwargs):
        raise RuntimeError("template engine down")

    crashing_app.jinja_env.get_or_select_template = broken_template
    response = crashing_app.test_client().get("/test-only/crash", buffered=True)
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert request_id in page and "Something went wrong" in page and "出错了" in page
    messages = [r.getMessage() for r in error_records(logs)]
    assert len(messages) == 2 and all(request_id in m for m in messages)


def test_an_error_handler_that_raises_is_caught_by_the_outer_layer(crashing_app, logs):
    @crashing_app.errorhandler(Boom)
    def failing_handler(_error):
        raise RuntimeError("the handler failed too")

    crashing_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = crashing_app.test_client().get("/test-only/crash", buffered=True)
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert request_id in response.get_data(as_text=True)
    assert any(r.request_id == request_id and r.exc_info for r in error_records(logs))


def test_a_404_is_not_logged_as_an_error(crashing_app, logs):
    response = crashing_app.test_client().get("/no-such-page")
    assert response.status_code == 404 and response.headers["X-Request-ID"]
    assert error_records(logs) == []


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/products/wenchang-chicken", 200),
        ("HEAD", "/products/wenchang-chicken", 200),
        ("GET", "/no-such-page", 404),
        ("POST", "/healthz", 405),
        ("GET", "/api/v1/products", 200),
        ("GET", "/api/v1/products?county=atlantis", 404),
        ("GET", "/healthz", 200),
        ("GET", "/test-only/crash", 500),
        ("GET", "/search?q=%E6%96%87%E6%98%8C", 200),
        ("GET", "/verify?code=91469005000000019U&token=secret", 200),
        ("GET", "/q/../etc", 404),
    ],
)
def test_every_request_gets_one_access_line(crashing_app, logs, method, url, status):
    client = crashing_app.test_client()
    response = client.open(
        url, method=method, headers={"Cookie": "session=secret-cookie"}, buffered=True
    )
    assert response.status_code == status
    lines = [r for r in logs.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 1
    line = lines[0].getMessage()
    path = url.split("?")[0]
    assert re.fullmatch(rf"method={method} path=\S+ status={status} duration_ms=\d+\.\d", line)
    assert f"path={path}" in line or "%" in line
    assert lines[0].request_id == response.headers["X-Request-ID"]
    assert "secret" not in line and "?" not in line


def test_fast_path_answers_carry_an_id_and_an_access_line(crashing_app, logs):
    crashing_app.config["PAGE_CACHE_CHECK_SECONDS"] = 60
    client = crashing_app.test_client(use_cookies=False)
    first = client.get("/products/wenchang-chicken", buffered=True)
    second = client.get("/products/wenchang-chicken", buffered=True)  # the WSGI fast path
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2
    logged = {r.request_id for r in logs.records if r.name == ACCESS_LOGGER}
    assert logged == ids


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0123456789abcdef0123456789abcdef", True),  # nginx $request_id
        ("3f2b8c1e-9d4a-4e7b-8a2c-1b2c3d4e5f60", True),  # a UUID
        ("req_ABCdef123", True),
        ("short", False),
        ("x" * 65, False),
        ("abc def 12345", False),
        ("abcdef12\nFAKE LOG LINE", False),
        ("abcdefgh\r\nSet-Cookie: x=1", False),
        ("<script>alert(1)</script>", False),
        ("请求编号一二三四五六", False),
        ("abcdefgh;rm -rf", False),
        ("", False),
    ],
)
def test_incoming_request_ids_are_kept_only_when_safe(client, incoming, kept):
    assert (request_id_from(incoming) == incoming) is kept
    # Through the environ: the test client itself refuses a header with a newline.
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": incoming})
    sent = response.headers["X-Request-ID"]
    assert (sent == incoming) is kept
    if not kept:
        assert ID.fullmatch(sent)


def test_the_logging_config_is_a_valid_dictconfig_for_app_and_gunicorn():
    import logging.config

    logging.config.dictConfig(logging_config("INFO"))  # what create_app does
    assert logging.getLogger("app").handlers and not logging.getLogger("app").propagate
    assert "root" not in logging_config("INFO")  # the factory leaves the root alone
    gunicorn = logging_config("INFO", include_root=True)  # not applied: it takes the root
    assert gunicorn["root"]["handlers"] == ["stderr"]
    assert gunicorn["loggers"]["gunicorn.error"]["handlers"] == ["stderr"]


def test_gunicorn_conf_uses_the_same_logging_and_no_access_log():
    import runpy

    settings = runpy.run_path("gunicorn.conf.py")
    assert settings["logconfig_dict"]["formatters"] == logging_config()["formatters"]
    assert settings["accesslog"] is None


def test_internal_server_error_raised_on_purpose_is_logged_too(crashing_app, logs):
    @crashing_app.get("/test-only/abort-500")
    def abort_500():
        raise InternalServerError()

    response = crashing_app.test_client().get("/test-only/abort-500")
    assert response.status_code == 500 and response.headers["X-Request-ID"]


# A database that cannot be reached: refused, gone, or its SQLite file in a folder that is
# no longer there. The site is unavailable, not broken: 503 with Retry-After, logged.
UNREACHABLE_DATABASES = [
    "postgresql+psycopg://postgres@127.0.0.1:1/gi?connect_timeout=2",
    "postgresql+psycopg://nobody-here@127.0.0.1:5432/no_such_database_gi",
    "sqlite:///{tmp}/gone/catalogue.sqlite3",
]
PAGES_NEEDING_THE_DATABASE = [
    "/?lang=en",
    "/products/wenchang-chicken",
    "/verify?code=91469005000000019U",
    "/api/v1/products",
    "/counties/",
]


@pytest.fixture(params=UNREACHABLE_DATABASES)
def unreachable_app(request, tmp_path, media_root):
    """Made before `logs` listens: the factory configures logging afresh."""
    app = create_app(make_config(request.param.format(tmp=tmp_path), tmp_path, media_root))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_an_unreachable_database_is_a_503_with_retry_after(unreachable_app, logs):
    client = unreachable_app.test_client()
    for page in PAGES_NEEDING_THE_DATABASE:
        response = client.get(page, headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 503, page
        assert int(response.headers["Retry-After"]) > 0
        request_id = response.headers["X-Request-ID"]
        assert request_id in response.get_data(as_text=True)
        assert any(r.request_id == request_id and r.exc_info for r in error_records(logs))
