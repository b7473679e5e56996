"""Safe XML parsing: the one place where untrusted bytes become an lxml tree.

Every layer of the project (validation, signatures, the submission pipeline, the
adapters) parses through :func:`parse_xml` and then passes the *tree* on, so the
policy below is decided once and no later layer re-parses with other defaults.

It lives in ``signing`` because that is the bottom of the dependency direction
(``exchange -> adapters -> signing``): everything may import it, it imports nothing
of ours.

Policy
------
* At most :attr:`XmlLimits.max_bytes` bytes (checked before the parser sees them).
* Any DOCTYPE is refused, internal subset or not: no DTD, no entity declarations,
  so no XXE, no billion laughs and no quadratic blow-up. Entities are never
  resolved, DTDs never loaded, the network never used, XInclude never processed
  (an ``xi:include`` element is refused outright).
* The encoding must be what the document says: a byte-order mark and the XML
  declaration must agree, and the bytes must decode under the declared encoding
  (a UTF-16 body labelled UTF-8 is refused rather than guessed).
* Nesting depth is capped by libxml2 (256 levels without ``huge_tree``); deeper
  documents are refused with their own error.
"""
from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree

__all__ = [
    "XmlError",
    "MalformedXmlError",
    "UnsafeXmlError",
    "XmlLimits",
    "parse_xml",
    "compile_schema",
    "DEFAULT_LIMITS",
]

XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
LIBXML2_MAX_DEPTH = 256


class XmlError(ValueError):
    """Root of the XML parsing errors. ``code`` is stable; ``line``/``column`` when known;
    ``params``: the values the English ``message`` names (``limit``, ``encoding``, the
    parser's own words as ``parser``...), for callers that say it in other words."""

    code = "xml.error"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 params: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.params: dict[str, Any] = params or {}


class MalformedXmlError(XmlError):
    """The bytes are not a well-formed XML document."""

    code = "xml.not-well-formed"


class UnsafeXmlError(XmlError):
    """The document uses a construct that the safety policy refuses."""

    code = "xml.unsafe"

    def __init__(self, message: str, *, code: str, line: int | None = None,
                 column: int | None = None, params: dict[str, Any] | None = None):
        super().__init__(message, line=line, column=column, params=params)
        self.code = code


@dataclass(frozen=True)
class XmlLimits:
    """Named safety limits (see module docstring)."""

    max_bytes: int = 20 * 1024 * 1024
    """Largest document accepted, in bytes. Larger input is refused unread."""


DEFAULT_LIMITS = XmlLimits()

_DECL_RE = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
_DOCTYPE = b"<!DOCTYPE"  # case-sensitive in XML: '<!doctype' is not well-formed anyway
# Codecs (Python's names) in which every ASCII character is its own single byte and no
# byte of a multi-byte character is an ASCII byte.
_ASCII_SUPERSETS = frozenset(
    ["utf-8", "ascii"] + [f"iso8859-{n}" for n in range(1, 17)]
    + [f"cp125{n}" for n in range(9)])


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        collect_ids=False,
    )


_local = threading.local()


def _parser() -> etree.XMLParser:
    """One parser per thread: lxml parsers must not be shared between threads."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _make_parser()
    return parser


_COMPILING = threading.Lock()


def compile_schema(path: str) -> etree.XMLSchema:
    """An XSD file (trusted: a schema pack's or the project's own) compiled by lxml, parsed
    with no network and no entities. One compilation at a time in the process: libxml2's
    schema parser sets up shared state on first use, and two threads compiling at once
    failed with "xmlSchemaPValAttrNodeValue, the given type is not a built-in type" or
    aborted the process ("double free or corruption"), seen in a dispatcher whose worker
    threads each compiled the adapters' schemas. Validation with a compiled schema does not
    take this lock."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    with _COMPILING:
        return etree.XMLSchema(etree.parse(path, parser))


def _encoding_family(data: bytes) -> tuple[str, int]:
    """Return (family, bom_length) from the first bytes: 'utf-8', 'utf-16-le', 'utf-16-be'
    or 'ascii-compatible' (no BOM, 8-bit)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32", 4
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if data[:4] == b"<\x00?\x00":
        return "utf-16-le", 0
    if data[:4] == b"\x00<\x00?":
        return "utf-16-be", 0
    return "ascii-compatible", 0


def _declared_encoding(data: bytes, family: str, bom: int) -> str | None:
    head = data[bom:bom + 400]
    if family.startswith("utf-16"):
        try:
            head = head[: len(head) // 2 * 2].decode(family).encode("ascii", "replace")
        except UnicodeDecodeError:
            return None
    m = _DECL_RE.match(head)
    return m.group(1).decode("ascii") if m else None


def _check_encoding(data: bytes) -> str:
    """Refuse bytes that do not match their declared encoding; return the codec's name."""
    family, bom = _encoding_family(data)
    if family == "utf-32":
        raise UnsafeXmlError("UTF-32 documents are not accepted; use UTF-8 or UTF-16",
                             code="xml.encoding-unsupported")
    declared = _declared_encoding(data, family, bom)
    if declared is None:
        name = "utf-8" if family in ("ascii-compatible", "utf-8") else family
    else:
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            raise UnsafeXmlError(f"unknown encoding {declared!r} in the XML declaration",
                                 code="xml.encoding-unknown", line=1,
                                 params={"encoding": declared}) from None
    is_16 = name.startswith("utf-16")
    if family.startswith("utf-16") and not is_16:
        raise UnsafeXmlError(
            f"the document is encoded in UTF-16 but its XML declaration says {declared!r}",
            code="xml.encoding-mismatch", line=1, params={"declared": declared,
                                                          "actual": "UTF-16"})
    if not family.startswith("utf-16") and is_16:
        raise UnsafeXmlError(
            f"the XML declaration says {declared!r} but the bytes are not UTF-16 "
            "(no byte-order mark, 8-bit content)", code="xml.encoding-mismatch", line=1,
            params={"declared": declared, "actual": "8-bit"})
    if family == "utf-8" and name != "utf-8":
        raise UnsafeXmlError(
            f"the document starts with a UTF-8 byte-order mark but declares {declared!r}",
            code="xml.encoding-mismatch", line=1, params={"declared": declared,
                                                          "actual": "UTF-8"})
    codec = family if (is_16 and name == "utf-16") else name
    if codec in _ASCII_SUPERSETS and data.isascii():
        return codec  # ASCII bytes decode under every one of these codecs
    try:
        data[bom:].decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: bom + exc.start].count(b"\n") + 1 if not is_16 else None
        raise UnsafeXmlError(
            f"the bytes are not valid {declared or name} (as the document declares): "
            f"{exc.reason} at byte offset {exc.start + bom}",
            code="xml.encoding-mismatch", line=line,
            params={"encoding": declared or name, "offset": exc.start + bom}) from None
    return codec


def parse_xml(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> etree._ElementTree:
    """Parse untrusted *data* under the policy of this module and return the tree.

    Raises :class:`MalformedXmlError` or :class:`UnsafeXmlError` (both ``ValueError``).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_xml takes bytes; decode nothing before parsing")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise UnsafeXmlError(
            f"document is {len(data):,} bytes, over the limit of {limits.max_bytes:,} bytes",
            code="xml.too-large", params={"size": len(data), "limit": limits.max_bytes})
    if not data or data.isspace():  # what `not data.strip()` says, without a copy
        raise MalformedXmlError("the document is empty", line=1, column=1,
                                params={"empty": True})
    codec = _check_encoding(data)
    # A DOCTYPE can only stand before the root element; refuse it before the parser
    # reads any declaration. (A UTF-16 DOCTYPE is caught by the docinfo check below.)
    # (A byte search for '!' is a memchr; most documents have none, so no DOCTYPE either.)
    at = data.find(_DOCTYPE, 0, 64 * 1024) if data.find(b"!", 0, 64 * 1024) >= 0 else -1
    if at >= 0 and b"<" not in _strip_prolog(data[:at]):
        raise UnsafeXmlError(
            "a DOCTYPE declaration is not allowed (DTDs and entities are refused)",
            code="xml.doctype-forbidden", line=data[:at].count(b"\n") + 1)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXmlError(
            "a DOCTYPE declaration is not allowed (DTDs and entities are refused)",
            code="xml.doctype-forbidden", line=1)
    if _may_declare_xinclude(data, codec):
        for el in root.iter(_XINCLUDE_ANY):
            raise UnsafeXmlError("XInclude is not allowed in documents",
                                 code="xml.xinclude-forbidden", line=el.sourceline,
                                 params={"element": etree.QName(el).localname})
    return tree


_XINCLUDE_ANY = f"{{{XINCLUDE_NS}}}*"
_XINCLUDE_WORD = b"XInclude"


def _may_declare_xinclude(data: bytes, codec: str) -> bool:
    """False only when no element of *data* can be in the XInclude namespace.

    An element is in that namespace only if the document declares its URI in an
    ``xmlns`` attribute (there is no DTD to default one). In the codecs of
    ``_ASCII_SUPERSETS`` the URI's letters are then in the bytes as such, or written as
    character references (``&#...;``; the predefined entities stand for no letter). So a
    document with neither ``XInclude`` nor ``#`` in its bytes has no XInclude element,
    and the walk over its tree can be skipped; any other document is walked."""
    return codec not in _ASCII_SUPERSETS or b"#" in data or _holds(data, _XINCLUDE_WORD)


def _holds(data: bytes, word: bytes, *, tries: int = 16) -> bool:
    """``word in data``, found from the occurrences of its first byte (memchr is several
    times faster than a substring search, and 'X' is rare in documents); after *tries*
    occurrences, by the substring search."""
    first = word[:1]
    at = data.find(first)
    while at >= 0 and tries:
        if data.startswith(word, at):
            return True
        at = data.find(first, at + 1)
        tries -= 1
    return at >= 0 and word in data[at:]


def _strip_prolog(prefix: bytes) -> bytes:
    """Remove the XML declaration, comments and PIs from *prefix* so that what remains
    shows whether an element started before the DOCTYPE match."""
    prefix = re.sub(rb"<\?.*?\?>", b"", prefix, flags=re.S)
    prefix = re.sub(rb"<!--.*?-->", b"", prefix, flags=re.S)
    return prefix


def _syntax_error(exc: etree.XMLSyntaxError) -> XmlError:
    line, column = exc.lineno, exc.offset
    msg = str(exc.msg or exc)
    lowered = msg.lower()
    if "excessive depth" in lowered or "maximum depth" in lowered:
        return UnsafeXmlError(
            f"elements are nested deeper than {LIBXML2_MAX_DEPTH} levels",
            code="xml.too-deep", line=line, column=column,
            params={"limit": LIBXML2_MAX_DEPTH})
    if "entity" in lowered and ("not defined" in lowered or "undeclared" in lowered):
        return UnsafeXmlError(f"entity references are not allowed: {msg}",
                              code="xml.entity-forbidden", line=line, column=column,
                              params={"parser": msg})
    return MalformedXmlError(f"not well-formed XML: {msg}", line=line, column=column,
                             params={"parser": msg})
