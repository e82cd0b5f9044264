"""The back office at /admin/: guarded once (app.admin.guard); object-level checks live in
app.services.access, which every listing service calls. Each screen is a module of this
package that registers its routes on `bp`; app.register_blueprints imports them all."""

from collections.abc import Callable

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


def kind_endpoint(kind_key: str) -> str:
    """The endpoint prefix of a listing kind's pages: "industry-facts" -> "industry_facts"."""
    return kind_key.replace("-", "_")


def add_kind_route(
    kind_key: str,
    path: str,
    name: str,
    view: Callable,
    methods: list[str] | None = None,
    **defaults: str,
) -> None:
    """Serve /admin/<kind_key><path> with view, as endpoint admin.<kind endpoint>_<name>;
    the view gets kind_key (and any other defaults) as keyword arguments."""
    bp.add_url_rule(
        f"/{kind_key}{path}",
        f"{kind_endpoint(kind_key)}_{name}",
        view,
        defaults={"kind_key": kind_key, **defaults},
        methods=methods,
    )
