"""The route table of /api/v1 and its OpenAPI 3.1 document, from one source.

`Api.operation(...)` registers a Flask view *and* records what it accepts and answers, and the
declaration does what it says: the wrapper it registers validates the documented `body` and
`query` models and hands the view exactly those (`body=`, `query=`), the cleaned `photos` of a
multipart operation and the API `client` of an operation whose auth is required — an input that
is not documented is refused (422), so the document and the accepted inputs cannot drift
(tests/test_api.py checks every view's signature against its declaration). Photo limits in the
document come from the settings.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field

from flask import Blueprint, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dashboard.api import clients, uploads
from dashboard.api.errors import ApiError
from dashboard.api.schemas import ErrorOut

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request (not JSON, bad header).",
    401: "No valid API key (or login).",
    403: "The client's role may not do this.",
    404: "No such ticket (or alert), or not visible to this client.",
    409: "The ticket's state does not allow this, or a conflicting record exists.",
    413: "A photo or the request is too large.",
    415: "Unsupported body type or photo type.",
    422: "Invalid fields, unknown category, reused Idempotency-Key with another body, bad photo.",
    429: "Rate limit reached.",
}
PATH_PARAMS = {
    "ticket_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "alert_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "token": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
}
FLASK_PARAMS = {
    "ticket_id": "<int(max=9223372036854775807):ticket_id>",
    "alert_id": "<int(max=9223372036854775807):alert_id>",
    "token": "<token>",
}


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    responses: dict[int, type[BaseModel] | list | None]
    body: type[BaseModel] | None = None
    multipart: bool = False  # also accepts multipart/form-data with `photos` files
    query: type[BaseModel] | None = None
    auth: str = "none"  # none | optional | required
    idempotent: bool = False  # accepts an Idempotency-Key header
    errors: tuple[int, ...] = ()
    tags: list[str] = field(default_factory=list)
    description: str = ""
    view: object = None  # the handler, once registered

    def injected(self) -> set[str]:
        """The keyword arguments the wrapper hands the view besides the path parameters."""
        names = set()
        if self.auth == "required":
            names.add("client")
        if self.body is not None:
            names.add("body")
        if self.multipart:
            names.add("photos")
        if self.query is not None:
            names.add("query")
        return names


NOT_QUERY = ("api_key",)  # a credential, not a filter (dashboard.api.clients reads it)


def inputs(op: Operation) -> dict:
    """What `op` declares, read from the request and validated (pydantic's ValidationError and
    ApiError become 422/4xx answers in dashboard.api.errors)."""
    out: dict = {}
    if op.auth == "required":
        out["client"] = clients.require_client()
    if op.body is not None:
        out["body"] = op.body.model_validate(uploads.fields())
    if op.multipart:
        out["photos"] = uploads.cleaned_photos()
    args = {k: v for k, v in request.args.to_dict(flat=True).items() if k not in NOT_QUERY}
    if op.query is not None:
        out["query"] = op.query.model_validate(args)
    elif args:
        raise ApiError(422, "invalid_request", f"unknown query parameter(s): {', '.join(sorted(args))[:200]}")
    return out


class Api:
    def __init__(self, blueprint: Blueprint, prefix: str, *, title: str, version: str, description: str):
        self.blueprint, self.prefix = blueprint, prefix
        self.title, self.version, self.description = title, version, description
        self.operations: list[Operation] = []

    def operation(self, method: str, path: str, **kwargs):
        op = Operation(method.lower(), path, **kwargs)
        self.operations.append(op)
        rule = re.sub(r"\{(\w+)\}", lambda m: FLASK_PARAMS[m.group(1)], path)

        def register(view):
            endpoint = f"{op.method}_{re.sub(r'[^a-z]+', '_', path.lower()).strip('_') or 'root'}"

            @functools.wraps(view)
            def validated(**path_args):
                return view(**path_args, **inputs(op))

            op.view = view
            self.blueprint.add_url_rule(rule, endpoint, validated, methods=[method.upper()])
            return view

        return register

    def document(self, settings) -> dict:
        models = {ErrorOut}
        for op in self.operations:
            models |= {m for m in (op.body, op.query) if m is not None}
            for model in op.responses.values():
                inner = model[0] if isinstance(model, list) else model
                if inner is not None:
                    models.add(inner)
        modes = [(m, "serialization" if m.__name__.endswith("Out") else "validation") for m in models]
        modes.sort(key=lambda x: x[0].__name__)
        _, defs = models_json_schema(modes, ref_template=REF)
        schemas = defs.get("$defs", {})
        paths: dict[str, dict] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method] = self._operation(op, schemas, settings)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "servers": [{"url": self.prefix}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
                },
            },
        }

    def _operation(self, op: Operation, schemas: dict, settings) -> dict:
        out: dict = {"summary": op.summary, "operationId": f"{op.method}{_camel(op.path)}", "tags": op.tags}
        if op.description:
            out["description"] = op.description
        params = [
            {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
            for name in re.findall(r"\{(\w+)\}", op.path)
        ]
        if op.query is not None:
            schema = op.query.model_json_schema(ref_template=REF)
            required = set(schema.get("required", []))
            for name, prop in schema["properties"].items():
                param = {"name": name, "in": "query", "required": name in required, "schema": _plain(prop)}
                if "description" in prop:
                    param["description"] = prop["description"]
                params.append(param)
        if op.idempotent:
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Same key and same body: the first result again. Same key, other body: 422.",
                    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
                }
            )
        if params:
            out["parameters"] = params
        if op.body is not None:
            content = {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}}
            if op.multipart:
                content["multipart/form-data"] = {"schema": _multipart(schemas[op.body.__name__], settings)}
            out["requestBody"] = {"required": True, "content": content}
        if op.auth != "none":
            security = [{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
            out["security"] = security if op.auth == "required" else [*security, {}]
        responses = {}
        for status, model in op.responses.items():
            responses[str(status)] = {"description": "OK" if status < 300 else "Error"}
            if model is not None:
                if isinstance(model, list):
                    schema = {"type": "array", "items": {"$ref": REF.format(model=model[0].__name__)}}
                else:
                    schema = {"$ref": REF.format(model=model.__name__)}
                responses[str(status)]["content"] = {"application/json": {"schema": schema}}
        errors = set(op.errors) | {400, 404, 405, 422}
        if op.auth == "required":
            errors |= {401}
        if op.auth == "optional":
            errors |= {401, 403}
        if op.body is not None:
            errors |= {413, 415}
        for status in sorted(errors):
            responses[str(status)] = {
                "description": ERROR_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
            }
        out["responses"] = responses
        return out


def _camel(path: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z]+", path) if p)


def _plain(prop: dict) -> dict:
    """A query parameter's schema: `anyOf [X, null]` becomes X (a query string has no null)."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "description", "default")}
    variants = prop.pop("anyOf", None)
    if variants:
        non_null = [v for v in variants if v.get("type") != "null"]
        prop = {**(non_null[0] if len(non_null) == 1 else {"anyOf": non_null}), **prop}
    if prop.get("format") == "date-time":
        prop["type"] = "string"
    return prop


def _multipart(schema: dict, settings) -> dict:
    """The form-data twin of a JSON body schema: the same fields (no nulls in a form) plus photos."""
    required = set(schema.get("required", []))
    properties = {}
    for name, prop in schema["properties"].items():
        plain = _plain(copy.deepcopy(prop))
        # A form sends an empty field for "not given" (dashboard.api.uploads drops those).
        properties[name] = plain if name in required else {"anyOf": [plain, {"type": "string", "maxLength": 0}]}
    properties["photos"] = {
        "type": "array",
        "maxItems": settings.gcc_photos_per_ticket,
        "items": {"type": "string", "format": "binary"},
        "description": f"JPEG, PNG or WebP photos, each at most {settings.gcc_photo_max_mb:g} MB "
        f"and {settings.gcc_photo_max_pixels:,} pixels (GCC_PHOTO_MAX_MB, GCC_PHOTO_MAX_PIXELS).",
    }
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if schema.get("required"):
        out["required"] = schema["required"]
    return out
