"""Sign and verify trade documents: enveloped XAdES-BES signatures made and checked with
signxml, UBL signature placement, keys, per-country trust lists, verification reports.

    from signing import load_identity, Signer, verify_document, TrustStore
    identity = load_identity("key.pem", "cert.pem", passphrase=read_passphrase(env="VAR"))
    signed = Signer(identity).sign(tree, schema=validator.schema_path(namespace))
    report = verify_document(signed, trust=TrustStore(home / "trust"), country="KZ")
    report.all_valid, report.to_dict(), report.trusted_content()

Parse untrusted XML with :func:`signing.safexml.parse_xml` first.
"""
# The public names are imported on first use (PEP 562), so that `signing.safexml`, which
# every layer imports to parse XML, does not pull in signxml and cryptography. Type checkers
# read the same names from the imports below, which never run.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signing.errors import (
        KeyLoadError,
        KeyMismatchError,
        PassphraseError,
        PlacementError,
        SigningError,
        TrustStoreError,
        VerificationFailed,
        WeakKeyError,
    )
    from signing.keys import SigningIdentity, load_identity, read_passphrase
    from signing.placement import SignatureLocation, root_child_order
    from signing.policy import DEFAULT_POLICY, Profile, VerificationPolicy
    from signing.report import Reason, SignatureReport, SignerInfo, VerificationReport
    from signing.signer import Signer, sign
    from signing.trust import Anchor, TrustStore
    from signing.verifier import verify_document

_SOURCES = {
    "sign": "signer", "Signer": "signer", "verify_document": "verifier",
    "load_identity": "keys", "read_passphrase": "keys", "SigningIdentity": "keys",
    "TrustStore": "trust", "Anchor": "trust", "VerificationPolicy": "policy",
    "DEFAULT_POLICY": "policy", "Profile": "policy", "VerificationReport": "report",
    "SignatureReport": "report",
    "SignerInfo": "report", "Reason": "report", "SignatureLocation": "placement",
    "root_child_order": "placement", "SigningError": "errors", "KeyLoadError": "errors",
    "PassphraseError": "errors", "KeyMismatchError": "errors", "WeakKeyError": "errors",
    "PlacementError": "errors", "TrustStoreError": "errors", "VerificationFailed": "errors",
}


def __getattr__(name: str) -> object:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "sign", "Signer", "verify_document", "load_identity", "read_passphrase",
    "SigningIdentity", "TrustStore", "Anchor", "VerificationPolicy", "DEFAULT_POLICY", "Profile",
    "VerificationReport", "SignatureReport", "SignerInfo", "Reason", "SignatureLocation",
    "root_child_order", "SigningError", "KeyLoadError", "PassphraseError", "KeyMismatchError",
    "WeakKeyError", "PlacementError", "TrustStoreError", "VerificationFailed",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
