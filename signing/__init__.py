"""Sign and verify trade documents: enveloped XAdES-BES signatures made and checked with
signxml, UBL signature placement, keys, per-country trust lists, verification reports.

    from signing import load_identity, Signer, verify_document, TrustStore
    identity = load_identity("key.pem", "cert.pem", passphrase=read_passphrase(env="VAR"))
    signed = Signer(identity).sign(tree, schema=validator.schema_path(namespace))
    report = verify_document(signed, trust=TrustStore(home / "trust"), country="KZ")
    report.all_valid, report.to_dict(), report.trusted_content()

Parse untrusted XML with :func:`signing.safexml.parse_xml` first.
"""
from .errors import (
                     KeyLoadError,
                     KeyMismatchError,
                     PassphraseError,
                     PlacementError,
                     SigningError,
                     TrustStoreError,
                     VerificationFailed,
                     WeakKeyError,
)
from .keys import SigningIdentity, load_identity, read_passphrase
from .placement import SignatureLocation, root_child_order
from .policy import DEFAULT_POLICY, VerificationPolicy
from .report import Reason, SignatureReport, SignerInfo, VerificationReport
from .signer import Signer, sign
from .trust import Anchor, TrustStore
from .verifier import verify_document

__all__ = [
    "sign", "Signer", "verify_document", "load_identity", "read_passphrase",
    "SigningIdentity", "TrustStore", "Anchor", "VerificationPolicy", "DEFAULT_POLICY",
    "VerificationReport", "SignatureReport", "SignerInfo", "Reason", "SignatureLocation",
    "root_child_order", "SigningError", "KeyLoadError", "PassphraseError", "KeyMismatchError",
    "WeakKeyError", "PlacementError", "TrustStoreError", "VerificationFailed",
]
