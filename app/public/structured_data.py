"""schema.org JSON-LD for product, brand and enterprise pages (rendered on the page itself:
"url" is the page's canonical URL)."""

from app.i18n import absolute_url, canonical_url, current_lang


def product_jsonld(page) -> dict:
    product, lang = page.product, current_lang()
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.text("name", lang),
        "alternateName": product.name_zh if lang == "en" else product.name_en,
        "description": product.text("summary", lang),
        "url": canonical_url(),
        "category": product.category.text("name", lang),
        "countryOfOrigin": {"@type": "Country", "name": "CN"},
        "brand": [{"@type": "Brand", "name": b.text("name", lang)} for b in page.brands],
    }
    if product.cover_image:
        image = product.cover_image
        data["image"] = absolute_url(
            "media.rendition", name=image.rendition_name(image.widths[-1], "jpg")
        )
    return data


def brand_jsonld(brand) -> dict:
    lang = current_lang()
    return {
        "@context": "https://schema.org",
        "@type": "Brand",
        "name": brand.text("name", lang),
        "url": canonical_url(),
        "description": brand.text("description", lang),
    }


def enterprise_jsonld(enterprise) -> dict:
    lang = current_lang()
    data = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": enterprise.text("name", lang),
        "url": canonical_url(),
        "taxID": enterprise.credit_code,
        "address": enterprise.text("address", lang),
    }
    if enterprise.website:
        data["sameAs"] = enterprise.website
    return data
