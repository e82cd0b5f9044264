"""Application factory: config -> extensions -> blueprints -> errors -> CLI. No side effects."""

import logging.config

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    conditional,
    edge,
    hosts,
    i18n,
    metrics,
    models,
    observability,
    params,
    request_limits,
    security,
    static_urls,
    templating,
)
from app.caching import middleware as caching_middleware
from app.db import db, time_limits
from app.extensions import babel, csrf, limiter, login_manager, migrate
from app.hosts import CatalogueFlask
from app.search import engine as search_engine
from app.services import flush, scans


def create_app(config: object | None = None) -> Flask:
    app = CatalogueFlask(
        __name__,
        static_folder="../static",
        template_folder="../templates",
    )
    if config is None:
        from config import config_from_env

        config = config_from_env()
    app.config.from_object(config)
    configure_logging(app)
    # The tutorial's one allowed side effect: SQLite and the index need their folder.
    app.config["INSTANCE_DIR"].mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    params.register_converters(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    # WSGI layers, innermost first. Cached answers right in front of Flask (after the
    # blueprints: the cacheable routes are read from the URL map); the request observer
    # around them, so cached answers get a request id and an access line too; ProxyFix
    # outermost, so both see the visitor's address and scheme (HSTS on https).
    answer_cached_responses(app)
    count_requests(app)
    observe_requests(app)
    trust_reverse_proxies(app)
    return app


def configure_logging(app: Flask) -> None:
    """One line per record on stderr, with the request id (the same config gunicorn.conf.py
    gives gunicorn's own loggers)."""
    logging.config.dictConfig(observability.logging_config(app.config["LOG_LEVEL"]))


def answer_cached_responses(app: Flask) -> None:
    """Cached public pages, passports, API answers and downloads answered before Flask's
    dispatch (app/caching/middleware.py)."""
    caching_middleware.install(app)


def count_requests(app: Flask) -> None:
    """Prometheus counters and latency around cached answers and Flask alike; the
    reverse proxy's expiry header on public answers when configured (app/edge.py)."""
    edge.install(app)
    metrics.install(app)


def observe_requests(app: Flask) -> None:
    """Request id and access line around everything the app answers, cached answers
    included; inside ProxyFix, so the logged request is the visitor's."""
    observability.install(app)


def trust_reverse_proxies(app: Flask) -> None:
    """Outermost WSGI layer, so the caching middleware and Flask both see the visitor's
    address."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        # Flask's documented way to wrap the WSGI app; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0
        )


def register_extensions(app: Flask) -> None:
    assert models.__all__  # every model imported: Alembic sees the whole metadata
    time_limits(app)  # PostgreSQL lock and statement timeouts, before the engine is built
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    babel.init_app(app, locale_selector=i18n.select_locale)
    # i18n first: its before_request picks the language before CSRF or the limiter refuse.
    i18n.init_app(app)
    hosts.init_app(app)  # refuses an untrusted Host before CSRF, the limiter or the guards
    # Body limits next: their before_request refuses an oversized body before CSRF parses it.
    request_limits.init_app(app)
    conditional.init_app(app)  # If-None-Match: * on pages without validators
    csrf.init_app(app)
    # No template reads current_user; Flask-Login's context processor would look the
    # visitor up on every render (public pages: anonymous visitors, no session).
    login_manager.init_app(app, add_context_processor=False)
    limiter.init_app(app)
    templating.init_app(app)
    static_urls.init_app(app)  # content-hashed /static/ URLs
    security.init_app(app)
    scans.init_app(app)
    # One flush hook: catalogue generation, short codes, search engine (app/services/flush.py).
    flush.install()
    search_engine.init_app(app)  # SEARCH_BACKEND checked here: a bad value stops start-up


def register_blueprints(app: Flask) -> None:
    """Every route the site serves. A view module adds its routes to its area's blueprint when
    it is imported, so each blueprint is registered after the modules that fill it."""
    from app import health
    from app.admin import (  # noqa: F401  (imported for their routes; guard: the admin gate)
        accounts,
        audit,
        auth,
        bulk,
        dashboard,
        expos,
        guard,
        labels,
        listings,
        photos,
        reports,
        review,
        scans,
        synonyms,
    )
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.api import data_bp, data_views, feed_views, feeds_bp  # noqa: F401  (routes)
    from app.api import views as api_views  # noqa: F401  (routes of api_bp)
    from app.media import views as media_views
    from app.metrics import views as metrics_views
    from app.public import bp as public_bp
    from app.public import views as public_views  # noqa: F401  (routes of public_bp)
    from app.qr import bp as qr_bp
    from app.qr import expo_views, trust_views  # noqa: F401  (routes of qr_bp)
    from app.qr import views as qr_views  # noqa: F401  (routes of qr_bp)
    from app.search import views as search_views

    app.register_blueprint(public_bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(media_views.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_views.bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(qr_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(data_bp)
    app.register_blueprint(feeds_bp)


def register_errorhandlers(app: Flask) -> None:
    from app import storage
    from app.errors import register

    register(app)
    storage.register(app)  # disk full / read-only: a translated 503, nothing half-written


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
