"""Reading submission bodies: JSON, raw XML, or multipart with documents in the same request."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from ..config import LimitsSettings
from ..domain import TransportMode
from ..pipeline import DocumentInput
from .problems import Problem

__all__ = ["RouteIn", "ShipmentIn", "read_document_request", "read_shipment_request"]

XML_TYPES = ("application/xml", "text/xml")
COUNTRY = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code of a member")


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    origin: str = COUNTRY
    transit: list[str] = Field(default_factory=list, max_length=10)
    destination: str = COUNTRY


class ShipmentIn(BaseModel):
    """The JSON of ``POST /v1/shipments`` (or its ``shipment`` part in multipart)."""

    model_config = ConfigDict(extra="forbid")
    route: RouteIn
    transport_mode: TransportMode
    references: dict[str, str] = Field(default_factory=dict, max_length=50)


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _unsupported(media: str, allowed: str) -> Problem:
    return Problem(415, "unsupported-media-type", "Unsupported media type",
                   f"Content-Type {media or '(none)'!r} is not accepted here; send {allowed}")


def _shipment_in(raw: Any) -> ShipmentIn:
    try:
        if isinstance(raw, (bytes, str)):
            return ShipmentIn.model_validate_json(raw)
        return ShipmentIn.model_validate(raw)
    except ValidationError as exc:
        errors = [{"location": list(e["loc"]), "message": e["msg"], "type": e["type"]}
                  for e in exc.errors()]
        raise Problem(422, "request-invalid", "The shipment is not valid",
                      "; ".join(f"{'.'.join(map(str, e['location'])) or 'body'}: {e['message']}"
                                for e in errors), errors=errors) from None


async def _file(part: Any, limits: LimitsSettings, name: str) -> DocumentInput:
    if not isinstance(part, UploadFile):
        raise Problem(422, "request-invalid", "Bad document part",
                      f"the {name!r} part must be a file (with a filename)")
    data = await part.read(limits.max_document_bytes + 1)
    if len(data) > limits.max_document_bytes:
        raise Problem(413, "document-too-large", "Document too large",
                      f"{part.filename or name} is over the document limit of "
                      f"{limits.max_document_bytes:,} bytes", limit=limits.max_document_bytes)
    return DocumentInput(data=data, filename=part.filename)


async def _form(request: Request, limits: LimitsSettings):
    return await request.form(max_files=limits.max_documents_per_request, max_fields=20,
                              max_part_size=1024 * 1024)


async def read_shipment_request(request: Request, limits: LimitsSettings
                                ) -> tuple[ShipmentIn, list[DocumentInput]]:
    media = _media(request)
    if media == "application/json":
        return _shipment_in(await request.body()), []
    if media == "multipart/form-data":
        form = await _form(request, limits)
        meta = form.get("shipment")
        if meta is None:
            raise Problem(422, "request-invalid", "Missing shipment",
                          "the multipart body needs a 'shipment' part with the shipment JSON")
        if isinstance(meta, UploadFile):
            meta = await meta.read(1024 * 1024)
        shipment = _shipment_in(meta)
        docs = [await _file(p, limits, "documents") for p in form.getlist("documents")]
        unknown = sorted(set(form.keys()) - {"shipment", "documents"})
        if unknown:
            raise Problem(422, "request-invalid", "Unknown parts",
                          f"unknown multipart parts: {', '.join(unknown)} "
                          "(expected 'shipment' and 'documents')")
        return shipment, docs
    raise _unsupported(media, "application/json or multipart/form-data")


async def read_document_request(request: Request, limits: LimitsSettings,
                                filename: str | None, supersedes: str | None) -> DocumentInput:
    media = _media(request)
    if media in XML_TYPES:
        data = await request.body()
        if len(data) > limits.max_document_bytes:
            raise Problem(413, "document-too-large", "Document too large",
                          f"the document is over the limit of {limits.max_document_bytes:,} "
                          "bytes", limit=limits.max_document_bytes)
        return DocumentInput(data=data, filename=filename, supersedes=supersedes)
    if media == "multipart/form-data":
        form = await _form(request, limits)
        parts = form.getlist("document")
        if len(parts) != 1:
            raise Problem(422, "request-invalid", "One document expected",
                          f"send exactly one 'document' file part (got {len(parts)})")
        doc = await _file(parts[0], limits, "document")
        sup = form.get("supersedes")
        sup = sup if isinstance(sup, str) and sup else supersedes
        return DocumentInput(data=doc.data, filename=doc.filename or filename, supersedes=sup)
    raise _unsupported(media, "application/xml or multipart/form-data")


def fingerprint_parts(shipment: ShipmentIn | None, docs: list[DocumentInput]) -> list[Any]:
    import hashlib

    return [json.loads(shipment.model_dump_json()) if shipment else None,
            [[d.filename, hashlib.sha256(d.data).hexdigest(), d.supersedes] for d in docs]]
