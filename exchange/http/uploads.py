"""Reading submission bodies: JSON, raw XML, or multipart with documents in the same request.

Shared by the API and the dashboard's new-shipment form, so that both read a shipment, a
form and a document part with the same limits and refuse them with the same words. A body that
cannot be read is an :class:`UploadError`: the API answers it as it is (problem+json); the
dashboard shows its ``detail`` in the form.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from exchange.config import LimitsSettings
from exchange.documents.pipeline import CreateShipment, DocumentInput
from exchange.domain import Route, TransportMode
from exchange.http.problems import Problem, invalid_request
from exchange.i18n import Text, t

__all__ = [
    "SUPERSEDES_MAX",
    "RouteIn",
    "ShipmentIn",
    "UploadError",
    "fingerprint_parts",
    "parse_shipment",
    "read_document_part",
    "read_document_request",
    "read_form",
    "read_shipment_request",
]

XML_TYPES = ("application/xml", "text/xml")
SUPERSEDES_MAX = 36
"""The longest document id (a UUID) that ``supersedes`` may name."""
COUNTRY = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code of a member")


_SHIPMENT_INVALID = t("The shipment is not valid")
_TOO_LARGE = t("Document too large")


class UploadError(Problem):
    """A request body, form or part that cannot be read as a submission (415, 413, 422)."""


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin: str = COUNTRY
    transit: list[str] = Field(default_factory=list, max_length=10)
    destination: str = COUNTRY

    def to_route(self) -> Route:
        return Route(origin=self.origin, destination=self.destination,
                     transit=tuple(self.transit))


class ShipmentIn(BaseModel):
    """The JSON of ``POST /v1/shipments`` (or its ``shipment`` part in multipart)."""

    model_config = ConfigDict(extra="forbid")
    route: RouteIn
    transport_mode: TransportMode
    references: dict[str, str] = Field(default_factory=dict, max_length=50)

    def to_command(self, *, forwarder_id: str, documents: list[DocumentInput]
                   ) -> CreateShipment:
        return CreateShipment(forwarder_id=forwarder_id, route=self.route.to_route(),
                              transport_mode=self.transport_mode,
                              references=dict(self.references), documents=tuple(documents))


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _unsupported(media: str, allowed: str) -> UploadError:
    return UploadError(415, "unsupported-media-type", t("Unsupported media type"),
                       t("Content-Type {media!r} is not accepted here; send {allowed}",
                         media=media or "(none)", allowed=allowed))


def _joined(errors: Sequence[dict[str, Any]]) -> Text:
    """``field: message; field: message``, each message in the reader's language."""
    said = [t("{field}: {message}", field=e["field"], message=e["message"]) for e in errors]
    detail = said[0]
    for more in said[1:]:
        detail = t("{message}; {more}", message=detail, more=more)
    return detail


def _part_error(part: str, kind: str, message: Text) -> dict[str, Any]:
    """An ``errors`` entry for a multipart part (the shape of
    :func:`exchange.http.problems.field_errors`)."""
    location: list[str | int] = ["body", *(int(p) if p.isdigit() else p
                                           for p in part.split("."))]
    return {"field": f"body.{part}", "location": location, "message": message, "type": kind}


def parse_shipment(raw: str | bytes | dict[str, Any], prefix: Sequence[str] = ("body",)
                   ) -> ShipmentIn:
    """The shipment from its JSON text or already-decoded JSON; :class:`UploadError` (422
    ``request-invalid``) naming each bad field."""
    try:
        if isinstance(raw, (bytes, str)):
            return ShipmentIn.model_validate_json(raw)
        return ShipmentIn.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request(exc.errors(), prefix=prefix, title=_SHIPMENT_INVALID,
                              kind=UploadError) from None


async def read_document_part(part: UploadFile | str, limits: LimitsSettings, name: str
                             ) -> DocumentInput:
    """A document from the multipart part called *name*, within the document size limit."""
    if not isinstance(part, UploadFile):
        raise UploadError(422, "request-invalid", t("Bad document part"),
                          t("the {name!r} part must be a file (with a filename)", name=name))
    data = await part.read(limits.max_document_bytes + 1)
    if len(data) > limits.max_document_bytes:
        raise UploadError(413, "document-too-large", _TOO_LARGE,
                          t("{name} is over the document limit of {limit:,} bytes",
                            name=part.filename or name, limit=limits.max_document_bytes),
                          limit=limits.max_document_bytes)
    return DocumentInput(data=data, filename=part.filename)


async def read_form(request: Request, limits: LimitsSettings) -> FormData:
    """The multipart (or urlencoded) form, with at most as many files as one request may
    carry documents."""
    return await request.form(max_files=limits.max_documents_per_request, max_fields=20,
                              max_part_size=1024 * 1024)


async def read_shipment_request(request: Request, limits: LimitsSettings
                                ) -> tuple[ShipmentIn, list[DocumentInput]]:
    media = _media(request)
    if media == "application/json":
        return parse_shipment(await request.body()), []
    if media == "multipart/form-data":
        form = await read_form(request, limits)
        errors: list[dict[str, Any]] = []
        meta, shipment = form.get("shipment"), None
        if meta is None:
            errors.append(_part_error("shipment", "missing", t(
                "the multipart body needs a 'shipment' part with the shipment JSON")))
        else:
            try:
                shipment = parse_shipment(await meta.read(1024 * 1024)
                                          if isinstance(meta, UploadFile) else meta,
                                          prefix=("body", "shipment"))
            except UploadError as exc:
                errors += exc.extra["errors"]
        docs = []
        for i, part in enumerate(form.getlist("documents")):
            if isinstance(part, UploadFile):
                docs.append(await read_document_part(part, limits, "documents"))
            else:
                errors.append(_part_error(f"documents.{i}", "not_a_file", t(
                    "a document part must be a file (with a filename)")))
        errors += [_part_error(name, "extra_forbidden",
                               t("unknown part (expected 'shipment' and 'documents')"))
                   for name in sorted(set(form.keys()) - {"shipment", "documents"})]
        if errors:
            raise UploadError(422, "request-invalid", _SHIPMENT_INVALID, _joined(errors),
                              errors=errors)
        assert shipment is not None
        return shipment, docs
    raise _unsupported(media, "application/json or multipart/form-data")


async def read_document_request(request: Request, limits: LimitsSettings,
                                filename: str | None, supersedes: str | None) -> DocumentInput:
    media = _media(request)
    if media in XML_TYPES:
        data = await request.body()
        if len(data) > limits.max_document_bytes:
            raise UploadError(413, "document-too-large", _TOO_LARGE,
                              t("the document is over the limit of {limit:,} bytes",
                                limit=limits.max_document_bytes),
                              limit=limits.max_document_bytes)
        return DocumentInput(data=data, filename=filename, supersedes=supersedes)
    if media == "multipart/form-data":
        form = await read_form(request, limits)
        parts, sup = form.getlist("document"), form.get("supersedes")
        errors = []
        if len(parts) != 1:
            errors.append(_part_error("document", "missing" if not parts else "too_many",
                                      t("send exactly one 'document' file part (got {count})",
                                        count=len(parts))))
        elif not isinstance(parts[0], UploadFile):
            errors.append(_part_error("document", "not_a_file",
                                      t("the document part must be a file (with a filename)")))
        if sup is not None and (not isinstance(sup, str) or len(sup) > SUPERSEDES_MAX):
            errors.append(_part_error("supersedes", "string_too_long", t(
                "the id of the version this amends: at most {limit} characters",
                limit=SUPERSEDES_MAX)))
        if errors:
            raise UploadError(422, "request-invalid", t("The document request is not valid"),
                              _joined(errors), errors=errors)
        doc = await read_document_part(parts[0], limits, "document")
        return DocumentInput(data=doc.data, filename=doc.filename or filename,
                             supersedes=sup if isinstance(sup, str) and sup else supersedes)
    raise _unsupported(media, "application/xml or multipart/form-data")


def fingerprint_parts(shipment: ShipmentIn | None, docs: list[DocumentInput]) -> list[object]:
    """What identifies a submission for its ``Idempotency-Key``: the shipment's JSON and each
    document's name, SHA-256 and the version it supersedes (not the multipart boundary)."""
    return [json.loads(shipment.model_dump_json()) if shipment else None,
            [[d.filename, hashlib.sha256(d.data).hexdigest(), d.supersedes] for d in docs]]
