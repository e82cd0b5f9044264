"""gunicorn settings of one app node under supervisord (deploy/supervisord.conf.j2) or
systemd (deploy/systemd/): the root gunicorn.conf.py plus what a node of several needs.

- BIND / WEB_CONCURRENCY / LOG_LEVEL as in the root file; NODE_NAME names the node.
- reuse_port: a node restarted after its master was killed binds again at once, while the
  dead master's last workers finish their requests on the old socket.
- PROMETHEUS_MULTIPROC_DIR (one per node): emptied when the master starts, and a worker's
  files are marked dead when it exits (app/metrics: child_exit)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.metrics import multiprocess_child_exit, reset_multiprocess_dir  # noqa: E402
from app.observability import logging_config  # noqa: E402

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
reuse_port = True
timeout = 30
graceful_timeout = 10
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"), include_root=True)
accesslog = None
proc_name = f"gi-catalogue-{os.environ.get('NODE_NAME', 'node')}"


def on_starting(_server) -> None:
    reset_multiprocess_dir()


def child_exit(_server, worker) -> None:
    multiprocess_child_exit(worker.pid)
