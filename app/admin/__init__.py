"""The back office at /admin/: guarded once (app.admin.guard); object-level checks live in
app.services.access, which every listing service calls. Each screen is a module of this
package that registers its routes on `bp`; app.register_blueprints imports them all."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
