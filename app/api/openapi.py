"""The OpenAPI 3.1 description of /api/v1 (tested against the running app with schemathesis)."""

from app.models import AuthorizationStatus, BrandKind, Regime, SignStatus

SLUG = {"type": "string", "pattern": "^[a-z0-9-]{1,96}$"}
NULLABLE_STR = {"type": ["string", "null"]}
SHORT_CODE = {"type": ["string", "null"], "pattern": "^[0-9A-HJKMNP-TV-Z]{8}$"}


def _obj(properties: dict) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties}


SCHEMAS = {
    "County": _obj(
        {
            "slug": SLUG,
            "code": {"type": "string"},
            "name_zh": {"type": "string"},
            "name_en": NULLABLE_STR,
            "kind": {"type": "string"},
            "seat_lat": {"type": ["number", "null"]},
            "seat_lon": {"type": ["number", "null"]},
        }
    ),
    "Category": _obj({"slug": SLUG, "name_zh": {"type": "string"}, "name_en": NULLABLE_STR}),
    "Sign": _obj(
        {
            "id": {"type": "integer"},
            "regime": {"enum": [r.value for r in Regime]},
            "official_name_zh": {"type": "string"},
            "official_name_en": NULLABLE_STR,
            "number": NULLABLE_STR,
            "approval_date": {
                "type": ["string", "null"],
                "description": "YYYY, YYYY-MM or YYYY-MM-DD: as precise as known",
            },
            "issuing_body_zh": NULLABLE_STR,
            "holder_zh": NULLABLE_STR,
            "standard": NULLABLE_STR,
            "status": {"enum": [s.value for s in SignStatus]},
            "verified": {"type": "boolean"},
            "product": SLUG,
            "counties": {"type": "array", "items": SLUG},
            "protected_abroad": {
                "type": "array",
                "description": "where else the sign is protected, each with its source",
                "items": _obj(
                    {
                        "jurisdiction": {
                            "type": "string",
                            "description": "EU, or an ISO 3166-1 alpha-2 code",
                        },
                        "basis_zh": {"type": "string"},
                        "basis_en": NULLABLE_STR,
                        "protected_from": {"type": ["string", "null"], "format": "date"},
                        "source_url": {"type": "string"},
                    }
                ),
            },
        }
    ),
    "Product": _obj(
        {
            "slug": SLUG,
            "short_code": SHORT_CODE,
            "name_zh": {"type": "string"},
            "name_en": NULLABLE_STR,
            "category": SLUG,
            "counties": {"type": "array", "items": SLUG},
            "province_wide": {"type": "boolean"},
            "summary_zh": {"type": "string"},
            "summary_en": NULLABLE_STR,
            "season_months": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 12},
            },
        }
    ),
    "Brand": _obj(
        {
            "slug": SLUG,
            "short_code": SHORT_CODE,
            "name_zh": {"type": "string"},
            "name_en": NULLABLE_STR,
            "kind": {"enum": [k.value for k in BrandKind]},
            "registration_number": NULLABLE_STR,
            "owner": {"type": ["string", "null"]},
            "products": {"type": "array", "items": SLUG},
            "is_demo": {"type": "boolean"},
        }
    ),
    "Enterprise": _obj(
        {
            "slug": SLUG,
            "short_code": SHORT_CODE,
            "name_zh": {"type": "string"},
            "name_en": NULLABLE_STR,
            "credit_code": {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"},
            "county": SLUG,
            "is_demo": {"type": "boolean"},
        }
    ),
    "Authorization": _obj(
        {
            "id": {"type": "integer"},
            "short_code": SHORT_CODE,
            "number": NULLABLE_STR,
            "enterprise": SLUG,
            "sign": {"type": "integer"},
            "product": SLUG,
            "valid_from": {"type": ["string", "null"], "format": "date"},
            "valid_to": {"type": ["string", "null"], "format": "date"},
            "status": {
                "enum": [s.value for s in AuthorizationStatus],
                "description": "'expired' when valid_to has passed",
            },
            "is_demo": {"type": "boolean"},
        }
    ),
    "Meta": _obj(
        {
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
        }
    ),
    "Links": {
        "type": "object",
        "required": ["self"],
        "properties": {
            "self": {"type": "string"},
            "next": {"type": "string"},
            "prev": {"type": "string"},
        },
    },
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": {"type": "integer"},
                    "name": {"type": "string"},
                    "message": {"type": "string"},
                }
            )
        }
    ),
}

PAGE_PARAMS = [
    {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
]


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


FILTER_PARAMS = {
    "counties": [],
    "categories": [],
    "signs": [
        _query("regime", {"enum": [r.value for r in Regime]}, "registration regime"),
        _query("county", SLUG, "county slug (protected area)"),
        _query("year", {"type": "integer", "minimum": 1000, "maximum": 9999}, "approval year"),
        _query("status", {"enum": [s.value for s in SignStatus]}, "sign status"),
    ],
    "products": [
        _query("county", SLUG, "county slug"),
        _query("category", SLUG, "category slug"),
        _query("regime", {"enum": [r.value for r in Regime]}, "has a sign of this regime"),
    ],
    "brands": [
        _query("kind", {"enum": [k.value for k in BrandKind]}, "brand kind"),
        _query("product", SLUG, "product slug"),
    ],
    "enterprises": [_query("county", SLUG, "county slug")],
    "authorizations": [
        _query("enterprise", SLUG, "enterprise slug"),
        _query("product", SLUG, "product slug"),
        _query("status", {"enum": [s.value for s in AuthorizationStatus]}, "stored status"),
    ],
}

ITEM_SCHEMA = {
    "counties": "County",
    "categories": "Category",
    "signs": "Sign",
    "products": "Product",
    "brands": "Brand",
    "enterprises": "Enterprise",
    "authorizations": "Authorization",
}
BY_ID = {"signs", "authorizations"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": schema}},
    }


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


# What the API promises about load, stated where clients read it (issue 13). Nothing counts
# requests per client today: answers are cached per catalogue change and sent again by the
# WSGI cache before Flask (app/caching), so the page size is the only limit that is enforced.
RATE_LIMITS = (
    "Rate limits: no per-client request quota is enforced. A list returns at most per_page's "
    "maximum items per page. Answers carry an ETag: send If-None-Match and a 304 costs nothing. "
    "Please keep to about 10 requests per second and use the /data/ downloads (the whole "
    "catalogue in one file, same licence) rather than paging through every list."
)
NOT_MODIFIED = {"description": "Not modified (If-None-Match matched the ETag)"}


def openapi_document(base_url: str) -> dict:
    paths = {}
    for resource, item in ITEM_SCHEMA.items():
        paths[f"/{resource}"] = {
            "get": {
                "operationId": f"list_{resource}",
                "summary": f"Published {resource}, paginated",
                "parameters": PAGE_PARAMS + FILTER_PARAMS[resource],
                "responses": {
                    "200": _json(
                        _obj(
                            {
                                "data": {"type": "array", "items": _ref(item)},
                                "meta": _ref("Meta"),
                                "links": _ref("Links"),
                            }
                        ),
                        f"A page of {resource}",
                    ),
                    "304": NOT_MODIFIED,
                    "400": _error("A parameter is malformed or not one of its allowed values"),
                    "404": _error(
                        "A filter names a county, category, product or enterprise "
                        "that is not in the published catalogue"
                    ),
                },
            }
        }
        if resource in BY_ID:
            key = {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            }
        else:
            key = {"name": "slug", "in": "path", "required": True, "schema": SLUG}
        paths[f"/{resource}/{{{key['name']}}}"] = {
            "get": {
                "operationId": f"get_{resource}",
                "summary": f"One published item of {resource}",
                "parameters": [key],
                "responses": {
                    "200": _json(_obj({"data": _ref(item)}), "The item"),
                    "304": NOT_MODIFIED,
                    "404": _error("No published item with this key"),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hainan GI catalogue open data API",
            "version": "1.0.0",
            "description": "Read-only. Published listings only. Rows with is_demo are "
            "fictitious demonstration data.\n\n" + RATE_LIMITS,
            "license": {"name": "CC BY 4.0", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
