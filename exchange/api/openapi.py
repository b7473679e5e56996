"""The API's OpenAPI 3.1 document, generated from the code: the conventions every router uses.

A new router (say ``routes/subscriptions.py``) follows them like this::

    router = APIRouter(prefix="/v1/things", tags=["things"])

    @router.post("", status_code=201, operation_id="create_thing",     # stable, snake_case
                 response_model=ThingOut,                              # a model in models.py
                 responses=problems(403, 409),                         # + ALWAYS
                 openapi_extra=request_body(json=ThingIn, json_examples={"one": {...}}))
    async def create(request: Request, principal: PrincipalDep, ...) -> dict[str, Any]:
        ...
        raise invalid_request(exc.errors(), prefix=("body",))         # every bad field at once

A route taking its body as a FastAPI parameter (``body: ThingIn``) needs no
``request_body``; a route reading it itself (raw XML, multipart, a signed body) does. Taking
:data:`~exchange.api.deps.PrincipalDep` (or any dependency built on ``get_principal``) puts
the bearer scheme on the operation; a router of operations that all need a key may also say
``APIRouter(dependencies=[Security(bearer)])``. Query values of a fixed set are an enum
(``StrEnum`` or ``Literal``), numbers have the bounds the store takes; each answer has
its ``response_model``; times are RFC 3339 with an offset (:func:`exchange.domain.rfc3339`).

- :class:`ProblemDetails`: the one RFC 9457 schema of every error answer
  (``application/problem+json``), with the members the exchange sends (``type``, ``title``,
  ``status``, ``detail``, ``instance``, ``request_id``, and ``errors``: one
  :class:`FieldError` per bad field, with its place, ``body.amount`` or ``query.status``).
- :func:`problems`: the error answers an operation (or a whole router) can give, by status,
  each pointing at that schema. Every operation also gets :data:`ALWAYS` (an answer any
  request can get: no or a bad key, a body over the limit, the database away).
- :data:`bearer`: the API key scheme (``Authorization: Bearer <key>``); the dependency that
  authenticates (:func:`exchange.api.deps.get_principal`) uses it, so every operation that
  needs a key says so in the document.
- :func:`request_body`: a body a route reads itself (JSON, raw XML, multipart) described with
  models, which :func:`install_openapi` puts in ``components/schemas``.
- :func:`install_openapi`: the document's assembly (OpenAPI 3.1, the shared schemas, no
  FastAPI ``HTTPValidationError``: a request FastAPI refuses is a problem like any other).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from exchange.http.problems import PROBLEM_JSON

__all__ = [
    "ALWAYS",
    "STATUS_MEANINGS",
    "FieldError",
    "ProblemDetails",
    "bearer",
    "install_openapi",
    "links",
    "problems",
    "request_body",
    "xml_body",
]

SCHEMAS = "#/components/schemas/"


class FieldError(BaseModel):
    """One thing wrong with the request, and where."""

    field: str = Field(description="where, as one dotted path: `body.amount`, "
                                   "`body.route.origin`, `query.status`, `header.Idempotency-Key`",
                       examples=["body.amount"])
    location: list[str | int] = Field(description="the same place as a list of steps",
                                      examples=[["body", "amount"]])
    message: str = Field(examples=["Field required"])
    type: str = Field(description="the kind of error (pydantic's error type)",
                      examples=["missing"])


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457 problem details). Extension members beside these say more
    about some problems: ``validation`` and ``signature`` reports of a refused document,
    ``documents`` of a refused shipment, ``limit`` of a body too large, ``line`` and
    ``column`` of a refused bank file."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="a URN naming the problem, stable: "
                                  "`urn:carec-exchange:problem:<code>`",
                      examples=["urn:carec-exchange:problem:request-invalid"])
    title: str = Field(examples=["The request is not valid"])
    status: int = Field(ge=400, le=599, examples=[422])
    detail: str | None = Field(default=None, description="what went wrong, for a person")
    instance: str | None = Field(default=None, description="the request's path")
    request_id: str | None = Field(default=None, description="the X-Request-ID of the request "
                                                             "(quote it to the help desk)")
    errors: list[FieldError] | None = Field(
        default=None, description="every bad field of the request, all at once")


STATUS_MEANINGS: dict[int, str] = {
    400: "Bad request: a header the exchange cannot use (Idempotency-Key) or a body that "
         "cannot be parsed",
    401: "No API key, or one that is unknown or revoked (WWW-Authenticate: Bearer)",
    403: "The key's party may not do this",
    404: "Not found, or not in the caller's scope",
    405: "Method not allowed",
    408: "The request's headers or body came too slowly (the connection closes)",
    409: "Conflicts with what is already recorded",
    413: "Request body (or one document) over the limit",
    415: "Unsupported Content-Type",
    422: "The request is not valid: `errors` lists every bad field, with its place; a refused "
         "document carries its reports",
    429: "Too many requests: send again after Retry-After",
    431: "The request's header fields are over the limit (size or count)",
    503: "The database is unavailable for a moment, or the server has too many connections: "
         "send the request again (with the same Idempotency-Key) after Retry-After",
}
"""What each error status means, as every operation's document says it."""

ALWAYS = (400, 401, 408, 413, 422, 431, 503)
"""What any request to the API can be answered: a body that cannot be parsed, no valid key,
headers or a body too slow or too large (the connection's and the body's limits, checked
before the route: :mod:`exchange.http.edge`, :mod:`exchange.http.limits`), a parameter out of
its bounds, the database away or every connection busy."""

_HEADERS = {
    401: {"WWW-Authenticate": {"description": "the scheme to use",
                               "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "seconds to wait before sending again",
                          "schema": {"type": "integer"}}},
    429: {"Retry-After": {"description": "seconds to wait before sending again",
                          "schema": {"type": "integer"}}},
}

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey", bearerFormat="API key",
                    description="An API key of a party: `Authorization: Bearer <key>` "
                                "(made with `exchange parties add`)")
"""The API key scheme (use it through :func:`exchange.api.deps.get_principal`)."""


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of *statuses* (and :data:`ALWAYS`), for ``responses=`` of a route
    or a router; each is a problem+json answer with the one :class:`ProblemDetails`
    schema."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *ALWAYS}):
        answer: dict[str, Any] = {
            "description": STATUS_MEANINGS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": f"{SCHEMAS}ProblemDetails"}}}}
        if status in _HEADERS:
            answer["headers"] = _HEADERS[status]
        out[status] = answer
    return out


def links(status: int, **targets: dict[str, str]) -> dict[int | str, Any]:
    """OpenAPI links of a *status* answer: for each target operation id, its parameters as
    runtime expressions (``{"shipment_id": "$response.body#/id"}``): a client (or a fuzzer)
    follows them to what it made."""
    return {status: {"links": {operation: {"operationId": operation, "parameters": params}
                               for operation, params in targets.items()}}}


_BODY_MODELS: dict[str, type[BaseModel]] = {}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    name = model.__name__
    _BODY_MODELS[name] = model
    return {"$ref": f"{SCHEMAS}{name}"}


def xml_body(description: str) -> dict[str, Any]:
    """The schema of a raw XML body (its content is described, not modelled)."""
    return {"type": "string", "format": "binary", "contentMediaType": "application/xml",
            "description": description}


def request_body(*, json: type[BaseModel] | None = None, xml: str | None = None,
                 multipart: type[BaseModel] | None = None,
                 encoding: Mapping[str, Mapping[str, str]] | None = None,
                 json_examples: Mapping[str, Any] | None = None,
                 required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its body itself: a JSON body of *json*, a raw
    XML document described by *xml*, a multipart form of *multipart* (with its parts'
    *encoding*). The models go into ``components/schemas`` (by :func:`install_openapi`)."""
    content: dict[str, Any] = {}
    if json is not None:
        content["application/json"] = {"schema": _ref(json)}
        if json_examples:
            content["application/json"]["examples"] = {
                name: {"value": value} for name, value in json_examples.items()}
    if xml is not None:
        content["application/xml"] = {"schema": xml_body(xml)}
    if multipart is not None:
        content["multipart/form-data"] = {"schema": _ref(multipart)}
        if encoding:
            content["multipart/form-data"]["encoding"] = {
                part: dict(how) for part, how in encoding.items()}
    return {"requestBody": {"required": required, "content": content}}


def _shared_schemas(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    _, top = models_json_schema([(m, "validation") for m in models],
                                ref_template=SCHEMAS + "{model}")
    return dict(top.get("$defs", {}))


def _without_fastapi_validation_error(document: dict[str, Any]) -> None:
    """Every 422 is the shared problem; FastAPI's own ``HTTPValidationError`` (a shape the
    exchange never sends) leaves the document."""
    problem_422 = problems(422)[422]
    for item in document.get("paths", {}).values():
        for operation in item.values():
            answers = operation.get("responses", {})
            if "422" in answers and "application/json" in answers["422"].get("content", {}):
                answers["422"] = problem_422
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def install_openapi(app: FastAPI, *, servers: list[dict[str, str]] | None = None,
                    adjust: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Make ``app.openapi()`` (``/openapi.json``) the exchange's OpenAPI 3.1 document;
    *adjust* adds what only the running exchange knows (its members, its limits)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               openapi_version="3.1.0", description=app.description,
                               routes=app.routes, tags=app.openapi_tags, servers=servers)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in _shared_schemas([ProblemDetails, *_BODY_MODELS.values()]).items():
            schemas.setdefault(name, schema)
        _without_fastapi_validation_error(document)
        if adjust is not None:
            adjust(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
