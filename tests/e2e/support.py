"""What the browser tests share: serving an app on a free local port, and checking a page
with axe-core (a JSON report per page in test-artifacts/)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 (a free port, threaded) while the block runs; yields its base
    URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def assert_no_serious_axe_violations(page, artifacts: Path, name: str) -> None:
    """Run axe-core on the page as it stands; write every violation to axe-<name>.json and
    fail on any of serious or critical impact, naming the rule and the first nodes."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    (artifacts / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=1))
    assert serious == [], json.dumps(
        [
            {"id": v["id"], "help": v["help"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
            for v in serious
        ],
        ensure_ascii=False,
        indent=1,
    )
