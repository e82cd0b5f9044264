"""gunicorn settings for `make serve-prod` (gunicorn -c gunicorn.conf.py wsgi:app).

Logging: gunicorn's own loggers use the same dictConfig as the app (app/observability.py),
so every line on stderr has one format. gunicorn's access log stays off: the app writes one
access line per request itself (method, path without query, status, duration, request id),
the WSGI fast paths included."""

import os

from app.observability import logging_config

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))  # sync workers: fastest here (bench/pages.py)
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"), include_root=True)
accesslog = None
