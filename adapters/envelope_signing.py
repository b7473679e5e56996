"""The hub's signature on delivery envelopes, made and checked with the signing package.

    signer = HubEnvelopeSigner.from_files(key_path, cert_path, passphrase=None)
    AdapterContext(signer=signer)                 # https-push signs every envelope with it

    check = EnvelopeSignatureCheck(trust_root, country=None, required=True)
    check(tree, envelope)                         # receiver side (the customs simulator)

The signature is an enveloped XAdES-BES ``ds:Signature``, the last child of
``DeliveryEnvelope``, over the whole envelope (reference URI ""), as
``schemas/xsd/delivery-envelope.xsd`` allows. The receiver trusts only what the signature
covers: the signed copy must carry the same DeliveryId and SealedSha256 as the envelope it
read, so a signature moved from another envelope (signature wrapping) is refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from adapters.contract import DeliveryEnvelope
from adapters.errors import InvalidMessageError
from adapters.messages import DS_NS, ENVELOPE_NS
from signing.safexml import parse_xml

if TYPE_CHECKING:
    from signing.keys import SigningIdentity

__all__ = ["HubEnvelopeSigner", "EnvelopeSignatureCheck"]


class HubEnvelopeSigner:
    """An :class:`~adapters.contract.EnvelopeSigner` holding a signing identity: the hub's
    for envelopes (a customs authority's, in the simulator, for its decisions). It signs any
    of our XML messages: an enveloped signature over the whole document, as last child."""

    def __init__(self, identity: SigningIdentity):
        from signing import Signer

        self._signer = Signer(identity)

    @classmethod
    def from_files(cls, key: str | Path, cert: str | Path, *,
                   passphrase: bytes | None = None) -> HubEnvelopeSigner:
        """KeyLoadError / PassphraseError / KeyMismatchError (signing) when unusable."""
        from signing import load_identity

        return cls(load_identity(key, cert, passphrase=passphrase))

    def sign(self, data: bytes) -> bytes:
        signed = self._signer.sign(parse_xml(data))
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


class EnvelopeSignatureCheck:
    """Verifies the hub signature of a received envelope against a trust folder
    (``<root>/<CC>/*.pem`` as :class:`signing.TrustStore` reads it).

    Raises :class:`~adapters.errors.InvalidMessageError` with code
    ``adapter.message.unsigned`` (no signature while one is required) or
    ``adapter.message.signature`` (it does not verify, does not chain to the trust list, or
    does not cover this envelope)."""

    def __init__(self, trust_root: str | Path, *, country: str | None = None,
                 required: bool = True):
        from signing import TrustStore

        self.trust = TrustStore(trust_root)
        self.country = country
        self.required = required

    def __call__(self, tree: etree._ElementTree, envelope: DeliveryEnvelope) -> None:
        from signing import verify_document

        root = tree.getroot()
        if root.find(f"{{{DS_NS}}}Signature") is None:
            if self.required:
                raise InvalidMessageError("the envelope is not signed",
                                          code="adapter.message.unsigned")
            return
        report = verify_document(tree, trust=self.trust, country=self.country)
        if not report.all_valid:
            raise InvalidMessageError("the hub signature does not verify: "
                                      + "; ".join(report.summary_lines()),
                                      code="adapter.message.signature")
        ns = {"e": ENVELOPE_NS}
        for content in report.trusted_content():
            if (content.tag == f"{{{ENVELOPE_NS}}}DeliveryEnvelope"
                    and content.findtext("e:DeliveryId", namespaces=ns) == envelope.delivery_id
                    and content.findtext("e:Document/e:SealedSha256", namespaces=ns)
                    == envelope.sealed_sha256):
                return
        raise InvalidMessageError("the hub signature does not cover this envelope",
                                  code="adapter.message.signature")
