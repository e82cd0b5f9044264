"""/search: the home page's search box posts here (GET)."""
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import or_

from app.models import Product
from app.public import params
from app.services import catalogue

bp = Blueprint("search", __name__)

MAX_QUERY_LENGTH = 200


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    if not query:
        return redirect(url_for("public.products"))
    pattern = f"%{query.replace('%', '').replace('_', '')}%"
    stmt = catalogue.product_card_query().where(
        or_(
            Product.name_zh.ilike(pattern),
            Product.name_en.ilike(pattern),
            Product.slug.ilike(pattern),
            Product.summary_zh.ilike(pattern),
            Product.summary_en.ilike(pattern),
        )
    )
    page = catalogue.paginate(
        stmt.order_by(Product.name_zh), params.page_number(), current_app.config["PER_PAGE"]
    )
    return render_template("search/results.html", query=query, page=page)
