"""A live server on a seeded database copy and Debian's Chromium driven by Playwright."""

from pathlib import Path

import pytest

from app import create_app
from bench.harness import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import make_config
from tests.e2e.support import serving

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def live_server(database_factory, media_root, tmp_path_factory):
    app = create_app(make_config(database_factory(), tmp_path_factory.mktemp("live"), media_root))
    with serving(app) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
