"""The safe parser refuses every dangerous construct with its own code, in bounded time."""
from __future__ import annotations

import pytest

from signing.safexml import MalformedXmlError, UnsafeXmlError, XmlLimits, parse_xml

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>"""
XXE_NET = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>
<r>&x;</r>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<r/>"""
PARAM_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<r/>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + b"A" * 100_000 + b'">]><r>'
             + b"&a;" * 50_000 + b"</r>")
XINCLUDE = b"""<r xmlns:xi="http://www.w3.org/2001/XInclude">
<xi:include href="file:///etc/passwd" parse="text"/></r>"""


@pytest.mark.parametrize("data,code", [
    (XXE_FILE, "xml.doctype-forbidden"),
    (XXE_NET, "xml.doctype-forbidden"),
    (EXTERNAL_DTD, "xml.doctype-forbidden"),
    (PARAM_ENTITY, "xml.doctype-forbidden"),
    (BILLION_LAUGHS, "xml.doctype-forbidden"),
    (QUADRATIC, "xml.doctype-forbidden"),
    (XINCLUDE, "xml.xinclude-forbidden"),
    (b"<r>&undeclared;</r>", "xml.entity-forbidden"),
], ids=["xxe-file", "xxe-network", "external-dtd", "parameter-entity", "billion-laughs",
        "quadratic-blowup", "xinclude", "undeclared-entity"])
def test_dangerous_constructs_are_refused(data, code):
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(data)
    assert err.value.code == code
    assert "root:" not in str(err.value)  # nothing of /etc/passwd leaks into the message


def test_doctype_in_utf16_is_refused_too():
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(data.encode("utf-16"))
    assert err.value.code == "xml.doctype-forbidden"


def test_a_doctype_word_in_a_comment_after_the_root_is_no_doctype():
    tree = parse_xml(b"<r><!-- <!DOCTYPE is just text here --></r>")
    assert tree.getroot().tag == "r"


def test_oversized_document_is_refused_before_parsing():
    big = b"<r>" + b"x" * (200 * 1024 * 1024) + b"</r>"
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(big)
    assert err.value.code == "xml.too-large"
    assert "209,715,207 bytes" in str(err.value)


def test_the_size_limit_is_a_setting():
    with pytest.raises(UnsafeXmlError):
        parse_xml(b"<r>" + b"x" * 100 + b"</r>", limits=XmlLimits(max_bytes=50))
    assert parse_xml(b"<r/>", limits=XmlLimits(max_bytes=50)).getroot().tag == "r"


def test_deep_nesting_is_refused():
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(deep)
    assert err.value.code == "xml.too-deep"


def test_moderate_nesting_is_fine():
    assert parse_xml(b"<a>" * 200 + b"</a>" * 200) is not None


@pytest.mark.parametrize("data", [
    '<?xml version="1.0" encoding="UTF-8"?><r>é</r>'.encode("utf-16"),
    '<?xml version="1.0" encoding="UTF-8"?><r>é</r>'.encode("utf-16-le"),
    '<?xml version="1.0" encoding="UTF-8"?><r>é</r>'.encode("latin-1"),
    '<?xml version="1.0" encoding="UTF-16"?><r>é</r>'.encode("utf-8"),
    b"\xef\xbb\xbf" + '<?xml version="1.0" encoding="ISO-8859-1"?><r/>'.encode(),
    '<?xml version="1.0" encoding="UTF-32"?><r/>'.encode("utf-32"),
    b'<?xml version="1.0" encoding="X-NO-SUCH"?><r/>',
], ids=["utf16-bom-labelled-utf8", "utf16le-labelled-utf8", "latin1-labelled-utf8",
        "utf8-labelled-utf16", "utf8-bom-labelled-latin1", "utf32", "unknown-encoding"])
def test_encoding_must_be_what_the_declaration_says(data):
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(data)
    assert err.value.code.startswith("xml.encoding")


@pytest.mark.parametrize("data", [
    '<?xml version="1.0" encoding="UTF-16"?><r>é</r>'.encode("utf-16"),
    '<?xml version="1.0" encoding="ISO-8859-1"?><r>é</r>'.encode("latin-1"),
    b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><r>\xc3\xa9</r>",
    "<r>é</r>".encode(),
])
def test_consistent_encodings_are_accepted(data):
    assert parse_xml(data).getroot().text == "é"


@pytest.mark.parametrize("data,line", [
    (b"<a><b></a>", 1), (b"<a>\n<b>\n</c></a>", 3), (b"", 1), (b"just text", 1),
    (b"<a/><b/>", 1),
])
def test_malformed_documents_say_where(data, line):
    with pytest.raises(MalformedXmlError) as err:
        parse_xml(data)
    assert err.value.code == "xml.not-well-formed"
    assert err.value.line == line


def test_errors_are_value_errors_and_refuse_text():
    with pytest.raises(ValueError):
        parse_xml(b"<a")
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [
    # The namespace URI spelt with character references: no 'XInclude' in the bytes.
    b'<r xmlns:xi="http://www.w3.org/2001/X&#73;nclude"><xi:include href="x"/></r>',
    b'<r xmlns:xi="http://www.w3.org/2001/&#x58;&#x49;nclude"><xi:include href="x"/></r>',
    b'<r><i xmlns="http://www.w3.org/2001/XInclude"/></r>',
    '<?xml version="1.0" encoding="ISO-8859-1"?><r xmlns:xi="http://www.w3.org/2001/'
    'XInclude">é<xi:include href="x"/></r>'.encode("latin-1"),
    '<?xml version="1.0" encoding="UTF-16"?><r xmlns:xi="http://www.w3.org/2001/'
    'X&#73;nclude"><xi:include href="x"/></r>'.encode("utf-16"),
    # Past the first occurrences of 'X', where the byte search gives way to the word's.
    b'<r x="' + b"X" * 40 + b'" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include/></r>',
], ids=["char-ref", "hex-char-refs", "default-namespace", "latin-1", "utf-16", "after-many-x"])
def test_xinclude_is_refused_however_its_namespace_is_written(data):
    with pytest.raises(UnsafeXmlError) as err:
        parse_xml(data)
    assert err.value.code == "xml.xinclude-forbidden"


def test_the_xinclude_word_alone_is_no_xinclude():
    tree = parse_xml(b'<r xmlns:a="urn:XInclude#"><a:include/><!-- &#73; --></r>')
    assert tree.getroot()[0].tag == "{urn:XInclude#}include"
