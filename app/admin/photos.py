"""Product photos on the product's edit page: upload, alt text, order, cover, remove.
Plain POST forms (no JavaScript needed); each view checks the user's right to change
this product's photos through app.services.product_photos before reading anything."""

from collections.abc import Callable

from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.fields import REQUIRED, TOO_LONG, ActionForm
from app.admin.listings import fresh_edit_page
from app.db import db
from app.forms import BaseForm
from app.media.upload import MAX_UPLOAD_BYTES, MediaError, read_upload
from app.models import Product, ProductImage
from app.models.users import User
from app.request_limits import FORM_OVERHEAD, accepts_upload
from app.services import listings, product_photos
from app.services.listings import KINDS

PRODUCTS = KINDS["products"]
ALT_ERRORS = ("alt_required", "alt_too_long")

ALT_LIMIT = Length(max=300, message=TOO_LONG)


class PhotoUploadForm(BaseForm):
    """The format is checked from the file's content by the photo service, not its name."""

    photo = FileField(
        _l("Photo (JPEG, PNG or WebP, up to 15 MB)"),
        validators=[FileRequired(message=_l("Please choose a photo to upload."))],
    )
    alt_zh = StringField(
        _l("Description in Chinese (alt text)"),
        validators=[DataRequired(message=REQUIRED), ALT_LIMIT],
    )
    alt_en = StringField(_l("Description in English"), validators=[Optional(), ALT_LIMIT])


class PhotoAltForm(BaseForm):
    alt_zh = StringField(
        _l("Description in Chinese (alt text)"),
        validators=[DataRequired(message=REQUIRED), ALT_LIMIT],
    )
    alt_en = StringField(_l("Description in English"), validators=[Optional(), ALT_LIMIT])


@bp.app_template_global()
def can_change_photos(product) -> bool:
    return bool(g.get("user")) and product_photos.can_change(g.user, product)


@bp.app_template_global()
def photo_upload_form():
    return PhotoUploadForm(formdata=None)


def _product(listing_id: int):
    product = listings.get_listing(PRODUCTS, listing_id)
    if not isinstance(product, Product):
        abort(404)
    product_photos.ensure_can_change(g.user, product)
    return product


def _photo(product, image_id: int):
    image = product_photos.photo_of(product, image_id)
    if image is None:
        abort(404)
    return image


def _back(product):
    return redirect(url_for("admin.products_edit", listing_id=product.id) + "#photos")


@bp.route("/products/<int:listing_id>/photos", methods=["POST"])
@accepts_upload(MAX_UPLOAD_BYTES + FORM_OVERHEAD)
def product_photo_add(listing_id: int):
    product = _product(listing_id)
    form = PhotoUploadForm()
    if form.validate_on_submit():
        try:
            data = read_upload(form.photo.data.stream)
            product_photos.add(g.user, product, data, form.alt_zh.data, form.alt_en.data)
        except MediaError as error:
            db.session.rollback()
            field = form.alt_zh if error.code in ALT_ERRORS else form.photo
            field.errors = [str(error.user_message)]
        else:
            db.session.commit()
            flash(_("Photo added."), "info")
            return _back(product)
    return fresh_edit_page(PRODUCTS, product, 400, photo_form=form)


@bp.route("/products/<int:listing_id>/photos/<int:image_id>/alt", methods=["POST"])
def product_photo_alt(listing_id: int, image_id: int):
    product = _product(listing_id)
    image = _photo(product, image_id)
    form = PhotoAltForm()
    if not form.validate_on_submit():
        flash(_("Describe the photo in Chinese (at most 300 characters)."), "error")
        return _back(product)
    return _change_photo(
        product,
        lambda: product_photos.change_alt_text(
            g.user, product, image, form.alt_zh.data, form.alt_en.data
        ),
        _("Photo description saved."),
    )


@bp.route("/products/<int:listing_id>/photos/<int:image_id>/move", methods=["POST"])
def product_photo_move(listing_id: int, image_id: int):
    product = _product(listing_id)
    image = _photo(product, image_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if not ActionForm().validate_on_submit() or step is None:
        flash(_("Choose whether to move the photo up or down."), "error")
        return _back(product)
    return _change_photo(
        product, lambda: product_photos.move(g.user, product, image, step), _("Photo order saved.")
    )


def _change_photo(product: Product, change: Callable[[], object], done: str) -> ResponseReturnValue:
    """Run a photo change and commit it, saying `done`; a MediaError is rolled back and its
    message shown instead. Back to the product's photos either way."""
    try:
        change()
    except MediaError as error:
        db.session.rollback()
        flash(str(error.user_message), "error")
    else:
        db.session.commit()
        flash(done, "info")
    return _back(product)


def _photo_button(
    listing_id: int,
    image_id: int,
    change: Callable[[User, Product, ProductImage], None],
    done: str,
) -> ResponseReturnValue:
    """A photo button with no input: `change` the photo, commit and say `done`."""
    product = _product(listing_id)
    image = _photo(product, image_id)
    if ActionForm().validate_on_submit():
        change(g.user, product, image)
        db.session.commit()
        flash(done, "info")
    return _back(product)


@bp.route("/products/<int:listing_id>/photos/<int:image_id>/cover", methods=["POST"])
def product_photo_cover(listing_id: int, image_id: int):
    return _photo_button(listing_id, image_id, product_photos.make_cover, _("Cover photo chosen."))


# Registered last: the route matrix posts to each photo route in turn with the same photo.
@bp.route("/products/<int:listing_id>/photos/<int:image_id>/remove", methods=["POST"])
def product_photo_remove(listing_id: int, image_id: int):
    return _photo_button(listing_id, image_id, product_photos.remove, _("Photo removed."))
