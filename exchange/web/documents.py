"""Document pages: one document (its validation report against its lines, a readable summary
of its signatures, downloads of the original and the sealed version) and the new-shipment
form.

The form is read with the API's own parsing (:mod:`exchange.http.uploads`), so a bad field
gets the same words; a document refused because its sender must sign it says how to sign
(``exchange sign``) and that signed files are uploaded the same way.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from exchange.documents import submission, tracking
from exchange.documents.errors import DocumentNotFound, ShipmentNotFound
from exchange.domain import PartyKind, TransportMode
from exchange.errors import ExchangeError
from exchange.http.deps import ServicesDep
from exchange.http.uploads import UploadError, parse_shipment, read_document_part, read_form
from exchange.i18n import Text, t
from exchange.parties.keys import scope_of
from exchange.verdicts import signature_verdict
from exchange.services import Services
from exchange.web.rendering import (
    PageError,
    PageNotFound,
    PageRoute,
    UserDep,
    document_lines,
    explain,
    findings_of,
    render,
    require_kind,
)
from exchange.web.language import reader_locale
from exchange.web.session import SignedIn, check_csrf
from exchange.web.timeline import document_word

__all__ = ["router", "signature_summary"]

router = APIRouter(prefix="/ui", route_class=PageRoute)

_FIELDS = ("origin", "transit", "destination", "transport_mode", "references")


def signature_summary(report: dict[str, Any] | None) -> dict[str, Any]:
    """The signature report in a reader's terms: signed or not, and per signature who
    signed, when, under which country's trust list, valid or why not and what to do."""
    report = report or {}
    signatures = [{"signer": (s.get("signer") or {}).get("subject"),
                   "issuer": (s.get("signer") or {}).get("issuer"),
                   "signed_at": s.get("signing_time"), "country": s.get("country"),
                   "anchor": s.get("anchor"), "valid": bool(s.get("valid")),
                   "reason": s.get("reason"),
                   "why": None if s.get("valid") or not s.get("reason") else
                   signature_verdict(s.get("reason"), s.get("params"))}
                  for s in report.get("signatures") or []]
    return {"present": bool(report.get("present")), "valid": bool(report.get("valid")),
            "required": bool(report.get("required")),
            "country": report.get("country") or report.get("expected_country"),
            "signatures": signatures}


def _document(services: Services, user: SignedIn, shipment_id: str, document_id: str
              ) -> dict[str, Any]:
    query = tracking.DocumentQuery(shipment_id, document_id, scope_of(user.principal))
    try:
        doc = tracking.document_report(query, uow_factory=services.uow)
    except ShipmentNotFound:
        raise PageNotFound(f"shipment {shipment_id}") from None
    except DocumentNotFound:
        raise PageNotFound(f"document {document_id}") from None
    findings = findings_of(doc.validation)
    return {"id": doc.id, "shipment_id": shipment_id, "type": doc.document_type,
            "word": document_word(doc.document_type),
            "filename": doc.filename, "version": doc.version, "sha256": doc.sha256,
            "size": doc.size, "validation": doc.validation, "findings": findings,
            "signature": signature_summary(doc.signature),
            "lines": document_lines(doc.original, findings)}


@router.get("/shipments/{shipment_id}/documents/{document_id}", name="ui_document")
async def document(request: Request, shipment_id: str, document_id: str,
                   services: ServicesDep, user: UserDep) -> Response:
    doc = await run_in_threadpool(_document, services, user, shipment_id, document_id)
    return render(request, "document.html", user, doc=doc)


@router.get("/shipments/{shipment_id}/documents/{document_id}/{version}",
            name="ui_document_file")
async def document_file(request: Request, shipment_id: str, document_id: str, version: str,
                        services: ServicesDep, user: UserDep) -> Response:
    """The original as received, or the version the hub sealed, to save."""
    if version not in ("original", "sealed"):
        raise PageNotFound("document version")
    query = tracking.DocumentQuery(shipment_id, document_id, scope_of(user.principal))
    try:
        found = await run_in_threadpool(
            lambda: tracking.document_file(query, version=tracking.DocumentVersion(version),
                                           uow_factory=services.uow))
    except (ShipmentNotFound, DocumentNotFound):
        raise PageNotFound(f"document {document_id}") from None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in found.filename)
    return Response(found.data, media_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{safe}"',
        "X-Content-Type-Options": "nosniff", "Digest": f"sha-256={found.sha256}"})


# --------------------------------------------------------------------- new shipment
def _form_values(form: FormData) -> dict[str, str]:
    values = {}
    for name in _FIELDS:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    values["transit"] = " ".join(v.strip() for v in form.getlist("transit")
                                 if isinstance(v, str) and v.strip()) or values["transit"]
    return values


def _shipment_json(values: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's shipment JSON; ValueError for a bad reference line."""
    refs: dict[str, str] = {}
    for n, line in enumerate(values["references"].splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(t("references, line {line}: write each reference as name=value "
                               "(got {given!r})", line=n, given=line.strip()))
        refs[key.strip()] = value.strip()
    transit = [c.strip().upper() for c in values["transit"].replace(",", " ").split()]
    return {"route": {"origin": values["origin"].upper(), "transit": transit,
                      "destination": values["destination"].upper()},
            "transport_mode": values["transport_mode"], "references": refs}


def _results(result: submission.ShipmentResult, locale: str) -> list[dict[str, Any]]:
    """Each document's outcome, a refused one with its findings against its lines (its
    refusal's title and detail in *locale*)."""
    out = []
    for outcome in result.outcomes:
        item = outcome.to_dict()
        if outcome.inspected.refusal is not None:
            item["refusal"] = outcome.to_dict(locale)["refusal"]
        findings = findings_of(item.get("validation"))
        refusal = item.get("refusal") or {}
        out.append({**item, "findings": findings,
                    "must_sign": refusal.get("code") == "signature-required",
                    "bad_signature": refusal.get("code") == "signature-invalid",
                    # a library's own words (English) are marked as such for the reader
                    "detail_in_english": outcome.inspected.refusal is not None
                    and not isinstance(outcome.inspected.refusal.detail, Text),
                    "lines": document_lines(outcome.inspected.input.data, findings)
                    if item.get("status") == "refused" else []})
    return out


def _form_page(request: Request, user: SignedIn, services: Services, **context: Any
               ) -> Response:
    members = [(m.code, m.name, m.require_signature) for m in services.members]
    return render(request, "new_shipment.html", user, modes=list(TransportMode),
                  members=members, **context)


@router.get("/shipments/new", name="ui_new_shipment")
async def new_shipment(request: Request, user: UserDep, services: ServicesDep) -> Response:
    require_kind(user, PartyKind.FORWARDER, what="new shipment form")
    return _form_page(request, user, services, form={})


@router.post("/shipments/new", name="ui_create_shipment")
async def create_shipment(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.FORWARDER, what="new shipment form")
    limits = services.settings.limits
    error: PageError | None = None
    results: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    try:
        form = await read_form(request, limits)
        values = _form_values(form)
        csrf = form.get("csrf")
        check_csrf(user, csrf if isinstance(csrf, str) else None)
        meta = parse_shipment(_shipment_json(values), prefix=())
        submission.check_route(meta.route.to_route(), members=services.member_codes)
        docs = [await read_document_part(p, limits, "documents")
                for p in form.getlist("documents") if getattr(p, "filename", None)]
        cmd = meta.to_command(forwarder_id=user.party.id, documents=docs)
        result = await run_in_threadpool(
            submission.submit_shipment, cmd, inspector=services.inspector, uow_factory=services.uow,
            on_accepted=services.on_accepted, dossier=services.settings.dossier,
            payments=services.payments_view)
    except UploadError as exc:  # the form or a file cannot be read
        error = PageError(t("The form or a file cannot be read."), exc.detail or exc.title)
    except ExchangeError as exc:  # a bad route, an expired form
        error = explain(exc)
    except ValueError as exc:  # a bad reference line
        said = exc.args[0] if exc.args and isinstance(exc.args[0], Text) else str(exc)
        error = PageError(t("Write each reference on its own line as name=value."), said)
    else:
        if result.created:
            return RedirectResponse(f"/ui/shipments/{result.shipment_id}?notice=created",
                                    status_code=303)
        error = PageError(t("The shipment was not created: some documents were refused. "
                            "Nothing was kept; correct them and send the form again."),
                          result.refusal_detail)
        results = _results(result, reader_locale(request))
    return _form_page(request, user, services, status=422, form=values, error=error,
                      results=results)
