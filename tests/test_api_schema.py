"""The OpenAPI document tested against the running app (a real HTTP server) with
schemathesis: every operation, generated valid and invalid inputs, responses checked
against the schema with every check schemathesis has (status codes, content types,
headers, bodies, 405 with Allow for undocumented methods) and never a 5xx."""

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from app import create_app
from app.db import db
from tests.conftest import make_config


@pytest.fixture(scope="module")
def api_server(database_factory, media_root, tmp_path_factory):
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("api"), media_root))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["SITE_BASE_URL"] = f"http://127.0.0.1:{server.port}"
    yield app.config["SITE_BASE_URL"]
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.engine.dispose()  # close pooled connections now, not at garbage collection


@pytest.fixture(scope="module")
def api_schema(api_server):
    return schemathesis.openapi.from_url(f"{api_server}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_its_openapi_document(case):
    # Every check schemathesis 4 has (checks=None): not_a_server_error,
    # status_code_conformance, content_type_conformance, response_headers_conformance,
    # response_schema_conformance, negative_data_rejection, positive_data_acceptance,
    # missing_required_header, unsupported_method, allow_header_conformance,
    # use_after_free, ensure_resource_availability, ignored_auth, ...
    case.call_and_validate()
