"""Where signatures stand in a document.

UBL 2.x puts each signature in
``ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/sig:UBLDocumentSignatures/
sac:SignatureInformation/ds:Signature`` and names it from a ``cac:Signature`` in the document
body. ``cac:Signature`` must stand where the document type's schema puts it; that position is
read from the root element's content model in the entry XSD (or given by the caller as the
ordered list of the root's child element names). Other XML gets an enveloped ``ds:Signature``
as the last child of its root.

Each signature added later is one ``ext:UBLExtension`` (or one root-child ``ds:Signature``)
plus one ``cac:Signature``; :func:`later_blocks` finds those blocks again so that each earlier
signature can be checked against the document as it stood when it was made.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from lxml import etree

from signing.errors import PlacementError
from signing.safexml import XmlError, parse_xml

__all__ = [
    "SignatureLocation", "NS", "is_ubl", "root_child_order", "insert_placeholder",
    "location_of", "later_blocks", "signature_elements", "UBL_SIGNATURE_METHOD",
]

NS = {
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "sbc": "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
XSD = "http://www.w3.org/2001/XMLSchema"
UBL_PREFIX = "urn:oasis:names:specification:ubl:schema:xsd:"
UBL_SIGNATURE_METHOD = "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
SIGNATURE_ID = "urn:oasis:names:specification:ubl:signature:{}"


def _t(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


DS_SIGNATURE = _t("ds", "Signature")
CAC_SIGNATURE = _t("cac", "Signature")
UBL_PATH = (_t("sac", "SignatureInformation"), _t("sig", "UBLDocumentSignatures"),
            _t("ext", "ExtensionContent"), _t("ext", "UBLExtension"),
            _t("ext", "UBLExtensions"))


class SignatureLocation(StrEnum):
    """Where a ``ds:Signature`` may stand."""

    UBL_EXTENSION = "ubl-extension"
    """ext:UBLExtensions/.../sac:SignatureInformation/ds:Signature under a UBL root."""
    ENVELOPED_ROOT = "enveloped-root"
    """A direct child of the root element of a non-UBL document (UBL documents keep their
    signatures in the UBL extension)."""
    ENVELOPING = "enveloping"
    """The ds:Signature is the document; what it signs is in its own ds:Object (not allowed
    by default: the exchange handles documents that carry signatures)."""
    OTHER = "other"
    """Anywhere else (never allowed; reported as such)."""


def is_ubl(root: etree._Element) -> bool:
    namespace = etree.QName(root).namespace
    return namespace is not None and namespace.startswith(UBL_PREFIX) \
        and root.tag != DS_SIGNATURE


@functools.lru_cache(maxsize=256)
def _order_from_xsd(path: str, mtime: float) -> tuple[str, ...]:
    try:
        xsd = parse_xml(Path(path).read_bytes()).getroot()
    except (OSError, XmlError) as exc:
        raise PlacementError(f"{path}: the document type's schema cannot be read ({exc})") from None
    top = xsd.find(f"{{{XSD}}}element")
    type_ref = top.get("type") if top is not None else None
    if type_ref is None:
        raise PlacementError(f"{path}: no root element declaration in the schema")
    type_name = type_ref.split(":")[-1]
    ctype = xsd.find(f"{{{XSD}}}complexType[@name='{type_name}']")
    seq = ctype.find(f"{{{XSD}}}sequence") if ctype is not None else None
    if seq is None:
        raise PlacementError(f"{path}: the root type {type_name} is not a sequence")
    order = []
    for el in seq.findall(f"{{{XSD}}}element"):
        prefix, _, local = el.get("ref", "").rpartition(":")
        ns = el.nsmap.get(prefix or None)
        if ns is None or not local:
            raise PlacementError(f"{path}: cannot resolve element reference {el.get('ref')!r}")
        order.append(f"{{{ns}}}{local}")
    return tuple(order)


def root_child_order(schema: str | Path) -> tuple[str, ...]:
    """Ordered child element names (Clark notation) of the root of a UBL entry XSD (cached)."""
    path = Path(schema)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise PlacementError(f"{path}: the document type's schema cannot be read "
                             f"({exc.strerror})") from None
    return _order_from_xsd(str(path), mtime)


def signature_elements(root: etree._Element) -> list[etree._Element]:
    """Every ds:Signature of the document that is not inside another signature."""
    found: list[etree._Element] = []
    for el in root.iter(DS_SIGNATURE):
        if not any(a.tag == DS_SIGNATURE for a in el.iterancestors()):
            found.append(el)
    return found


def location_of(sig: etree._Element, root: etree._Element) -> SignatureLocation:
    if sig is root:
        return SignatureLocation.ENVELOPING
    parent = sig.getparent()
    if parent is root:
        return SignatureLocation.OTHER if is_ubl(root) else SignatureLocation.ENVELOPED_ROOT
    node = sig
    for tag in UBL_PATH:
        up = node.getparent()
        if up is None or up.tag != tag:
            return SignatureLocation.OTHER
        node = up
    if node.getparent() is root and is_ubl(root):
        return SignatureLocation.UBL_EXTENSION
    return SignatureLocation.OTHER


def _next_signature_number(root: etree._Element) -> int:
    used = {(el.text or "").strip() for el in root.iter(_t("cbc", "ID"))
            if (parent := el.getparent()) is not None and parent.tag in
            (CAC_SIGNATURE, _t("sac", "SignatureInformation"))}
    n = 1
    while SIGNATURE_ID.format(n) in used:
        n += 1
    return n


def _insert_in_order(root: etree._Element, new: etree._Element, order: Sequence[str]) -> None:
    try:
        rank = order.index(new.tag)
    except ValueError:
        raise PlacementError(f"the document type {etree.QName(root).localname} has no place for "
                             f"{etree.QName(new).localname}") from None
    position = 0
    for i, child in enumerate(root):
        if not isinstance(child.tag, str):
            continue
        if child.tag in order and order.index(child.tag) <= rank:
            position = i + 1
    root.insert(position, new)


def insert_placeholder(root: etree._Element, *, order: Sequence[str] | None) -> etree._Element:
    """Add the empty signature slot signxml fills (``ds:Signature Id="placeholder"``), with
    the UBL extension and ``cac:Signature`` around it for UBL documents. Works in place."""
    placeholder = etree.Element(DS_SIGNATURE, Id="placeholder", nsmap={"ds": NS["ds"]})
    if not is_ubl(root):
        root.append(placeholder)
        return placeholder
    if not order:
        raise PlacementError("a UBL document needs its schema (or the order of its root's "
                             "children) to place cac:Signature")
    sig_id = SIGNATURE_ID.format(_next_signature_number(root))
    exts = root.find(_t("ext", "UBLExtensions"))
    if exts is None:
        exts = etree.Element(_t("ext", "UBLExtensions"), nsmap={"ext": NS["ext"]})
        root.insert(0, exts)
    ext = etree.SubElement(exts, _t("ext", "UBLExtension"))
    etree.SubElement(ext, _t("ext", "ExtensionURI")).text = UBL_SIGNATURE_METHOD
    content = etree.SubElement(ext, _t("ext", "ExtensionContent"))
    docsigs = etree.SubElement(content, _t("sig", "UBLDocumentSignatures"),
                               nsmap={k: NS[k] for k in ("sig", "sac", "sbc", "cbc")})
    info = etree.SubElement(docsigs, _t("sac", "SignatureInformation"))
    etree.SubElement(info, _t("cbc", "ID")).text = sig_id
    etree.SubElement(info, _t("sbc", "ReferencedSignatureID")).text = sig_id
    info.append(placeholder)
    cac = etree.Element(CAC_SIGNATURE, nsmap={"cac": NS["cac"], "cbc": NS["cbc"]})
    etree.SubElement(cac, _t("cbc", "ID")).text = sig_id
    etree.SubElement(cac, _t("cbc", "SignatureMethod")).text = UBL_SIGNATURE_METHOD
    _insert_in_order(root, cac, order)
    return placeholder


def later_blocks(root: etree._Element, sig: etree._Element
                 ) -> tuple[list[etree._Element], int]:
    """The elements added with the signatures made after *sig*, and how many signatures."""
    sigs = [s for s in signature_elements(root) if location_of(s, root) in
            (SignatureLocation.UBL_EXTENSION, SignatureLocation.ENVELOPED_ROOT)]
    if sig not in sigs:
        return [], 0
    blocks: list[etree._Element] = []
    for later in sigs[sigs.index(sig) + 1:]:
        if location_of(later, root) is SignatureLocation.ENVELOPED_ROOT:
            blocks.append(later)
            continue
        info = later.getparent()
        assert info is not None, "location_of put it under sac:SignatureInformation"
        # the later signature's own ext:UBLExtension, or only its sac:SignatureInformation
        # when it shares an extension with *sig*
        ours = set(sig.iterancestors())
        blocks.append(next(node for node in later.iterancestors()
                           if node.tag == UBL_PATH[3] or node.getparent() in ours))
        ref = info.findtext(_t("sbc", "ReferencedSignatureID"))
        if ref:
            blocks.extend(c for c in root.findall(CAC_SIGNATURE)
                          if (c.findtext(_t("cbc", "ID")) or "").strip() == ref.strip())
    return blocks, len(sigs) - sigs.index(sig) - 1
