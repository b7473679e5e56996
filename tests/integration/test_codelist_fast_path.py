"""The code-list layer's shortcut over raw bytes agrees with the exact check on the tree,
whatever is done to the code values."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from exchange.validation.codelists import check_code_lists
from exchange.validation.locate import Locator
from signing.safexml import parse_xml
from tests.fixtures.packs import UBL_EXAMPLES

SOURCES = [(UBL_EXAMPLES / n).read_bytes() for n in (
    "UBL-Invoice-2.1-Example.xml", "UBL-ExportCustomsDeclaration-2.3-Example.xml",
    "UBL-Waybill-2.0-Example-International.xml")]

# Each target with replacements that keep the document well-formed but may hide or change
# a code value.
EDITS = {
    b'currencyID="EUR"': [b'currencyID="QQQ"', b"currencyID = 'EUR'", b'currencyID="E&#85;R"',
                          b'currencyID="EU"', b'currencyID=" EUR "'],
    b'unitCode="KGM"': [b'unitCode="KG"', b'unitCode="ZZZ"', b'unitCode=" KGM "'],
    b'unitCode="EA"': [b'unitCode="E&#65;"', b'unitCode="EAX"'],
    b">EUR</cbc:DocumentCurrencyCode>": [
        b">E<!-- x -->UR</cbc:DocumentCurrencyCode>", b"><![CDATA[EUR]]></cbc:DocumentCurrencyCode>",
        b">EURX</cbc:DocumentCurrencyCode>", b"> EUR </cbc:DocumentCurrencyCode>",
        b">EUR<!---->X</cbc:DocumentCurrencyCode>"],
    b"<cbc:IdentificationCode>DK</cbc:IdentificationCode>": [
        b"<cbc:IdentificationCode>D<!---->X</cbc:IdentificationCode>",
        b"<cbc:IdentificationCode>DK<!-- <cbc:IdentificationCode>ZZ</ --></cbc:IdentificationCode>",
        b"<cbc:IdentificationCode>&#68;K</cbc:IdentificationCode>",
        b'<cbc:IdentificationCode listID="a>b">QQ</cbc:IdentificationCode>',
        b"<cbc:IdentificationCode/>"],
}
EDIT = st.sampled_from([(t, r) for t, rs in EDITS.items() for r in rs])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(src=st.sampled_from(SOURCES), edits=st.lists(st.tuples(EDIT, st.integers(0, 5)),
                                                     max_size=4))
def test_fast_path_agrees_with_the_tree_walk(validator, src, edits):
    data = src
    for (target, trick), nth in edits:
        parts = data.split(target)
        if len(parts) > 1:
            i = nth % (len(parts) - 1)
            data = target.join(parts[: i + 1]) + trick + target.join(parts[i + 1:])
    tree = parse_xml(data)
    lists = validator._lists(validator.store.catalog["ubl-2.4"])
    # both with the bytes' lines and columns: the shortcut only decides what is walked
    exact = check_code_lists(tree, lists, None, Locator(tree, data))
    fast = check_code_lists(tree, lists, data)
    assert fast == exact


def test_the_fast_path_is_taken_for_clean_documents(validator):
    from exchange.validation.codelists import _attributes_known
    lists = validator._lists(validator.store.catalog["ubl-2.4"])
    assert all(_attributes_known(src, b"currencyID", lists.currency_bytes) for src in SOURCES)
    assert all(_attributes_known(src, b"unitCode", lists.unit_bytes) for src in SOURCES)
    bad = SOURCES[0].replace(b'"EUR"', b'"QQQ"', 1)
    assert not _attributes_known(bad, b"currencyID", lists.currency_bytes)
