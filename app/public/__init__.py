"""The public site: home, counties, products, brands, enterprises, categories, register.
Routes live in app.public.views; app.register_blueprints imports it."""

from flask import Blueprint

bp = Blueprint("public", __name__)
