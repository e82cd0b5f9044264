"""GET /metrics: Prometheus text format, for this machine only.

Refused (404, as if absent) unless the client address (after TRUSTED_PROXIES) is in
METRICS_ALLOWED_NETWORKS; the stack's nginx also allows 127.0.0.1 only. Values read from
the database at scrape time: the catalogue generation, the search outbox backlog (rows and
the age of the oldest one: how far a Whoosh node may lag; the PostgreSQL engine writes in
the listing's own transaction and has no lag) and the search engine in use."""

import ipaddress
import os
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from app.db import db
from app.metrics import MULTIPROC_ENV

bp = Blueprint("metrics", __name__)


def allowed(address: str | None, networks: str) -> bool:
    """Is this client address inside one of the comma-separated networks?"""
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(net.strip(), strict=False)
        for net in networks.split(",")
        if net.strip()
    )


class DatabaseGauges:
    """Gauges read from the database when /metrics is scraped."""

    def describe(self):  # registering must not query the database a second time
        return []

    def collect(self):
        from app.caching.store import read_generation
        from app.search.outbox import SearchOutbox

        generation, _changed = read_generation()
        yield GaugeMetricFamily(
            "gi_catalogue_generation", "Catalogue changes so far", value=generation
        )
        rows, oldest = db.session.execute(
            select(func.count(SearchOutbox.id), func.min(SearchOutbox.created_at))
        ).one()
        yield GaugeMetricFamily("gi_search_outbox_rows", "Search outbox rows kept", value=rows)
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - oldest).total_seconds()
        yield GaugeMetricFamily(
            "gi_search_outbox_oldest_age_seconds", "Age of the oldest search outbox row", value=age
        )
        engine = GaugeMetricFamily("gi_search_engine", "Search engine in use", labels=["engine"])
        engine.add_metric([str(current_app.config.get("SEARCH_BACKEND", "auto"))], 1)
        yield engine


@bp.get("/metrics")
def metrics():
    if not allowed(request.remote_addr, current_app.config["METRICS_ALLOWED_NETWORKS"]):
        abort(404)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(DatabaseGauges())
    body += generate_latest(scraped)
    response = Response(body, content_type=CONTENT_TYPE_LATEST)
    response.cache_control.no_store = True
    return response
