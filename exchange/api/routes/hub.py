"""``/v1/hub``: what anyone needs to check the hub's seal (no API key: it is public)."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from exchange.api.deps import ServicesDep
from exchange.api.openapi import problems
from exchange.documents.signatures import hub_certificate

__all__ = ["router"]

router = APIRouter(prefix="/v1/hub", tags=["hub"])

PEM = "application/x-pem-file"
_EXAMPLE = "-----BEGIN CERTIFICATE-----\nMIID...\n-----END CERTIFICATE-----\n"


@router.get(
    "/certificate", operation_id="get_hub_certificate",
    summary="The hub's certificate (and its chain), PEM",
    description="The certificate whose key seals every accepted document, followed by the "
                "chain it embeds in its seals. Public. A customs authority pins it once with "
                "`exchange trust add --hub hub.pem`; `exchange verify` then accepts the "
                "hub's seal, and `xmlsec1 --verify --trusted-pem hub.pem` checks it "
                "independently.",
    responses={200: {"content": {PEM: {"schema": {"type": "string", "format": "binary"},
                                       "example": _EXAMPLE}}},
               **problems(404)},
    # public: no API key (an empty security requirement says so in OpenAPI)
    openapi_extra={"security": []},
    response_class=Response)
def get_hub_certificate(services: ServicesDep) -> Response:
    return Response(hub_certificate(services.sealer), media_type=PEM, headers={
        "Content-Disposition": 'inline; filename="hub.pem"', "Cache-Control": "max-age=300"})
