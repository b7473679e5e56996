"""Issue 14, point 10: each code list's severity and source per document profile, the UBL
pack's lists by default."""
from __future__ import annotations

import re
import shutil

import pytest

from exchange.validation import Validator
from exchange.validation.errors import ProfileError
from exchange.validation.packs import SchemaStore
from exchange.validation.profiles import load_profiles
from tests.fixtures.packs import UBL_EXAMPLES, UBL_SOURCE

INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
KILO_INVOICE = INVOICE.replace(b'unitCode="C62"', b'unitCode="kilo"', 1)
KILO_WAYBILL = WAYBILL.replace(b'unitCode="KGM"', b'unitCode="kilo"', 1)


@pytest.fixture
def store_with(tmp_path, exchange_home):
    """A store with the session's installed pack and the given profiles.toml."""
    def make(text: str) -> SchemaStore:
        root = tmp_path / "schemas"
        shutil.copytree(exchange_home / "schemas", root, dirs_exist_ok=True)
        (root / "profiles.toml").write_text(text)
        return SchemaStore(root)
    return make


def test_without_profiles_the_pack_lists_reject(validator):
    assert [f.rule for f in validator.validate(KILO_INVOICE).errors()] == ["codelist.unit"]


def test_a_profile_makes_a_list_a_warning_for_its_document_types(store_with):
    v = Validator(store_with('[[profile]]\nname = "lenient-invoices"\n'
                             'documents = ["Invoice"]\n'
                             '[profile.code_lists.unit]\nseverity = "warning"\n'))
    invoice = v.validate(KILO_INVOICE)
    assert invoice.accepted and [f.rule for f in invoice.warnings()] == ["codelist.unit"]
    assert not v.validate(KILO_WAYBILL).accepted  # not named by the profile: the default


def test_a_profile_takes_its_list_from_another_genericode_file(store_with, tmp_path):
    # A list derived from the pack's own currency list, without EUR (a real file, edited:
    # the list has one row per country that uses a currency)
    gc = (UBL_SOURCE / "cl/gc/default/CurrencyCode-2.4.gc").read_text(encoding="utf-8")
    euro_row = re.compile(r'<Row>\s*<Value ColumnRef="code">\s*<SimpleValue>EUR</SimpleValue>'
                          r".*?</Row>", re.S)
    assert len(euro_row.findall(gc)) > 10
    newer = tmp_path / "currencies-without-eur.gc"
    newer.write_text(euro_row.sub("", gc), encoding="utf-8")
    v = Validator(store_with(f'[[profile]]\nname = "all"\n'
                             f'[profile.code_lists.currency]\nsource = "{newer}"\n'))
    rules = {f.rule for f in v.validate(INVOICE).errors()}
    assert rules == {"codelist.currency"}
    assert v.validate(INVOICE.replace(b'"EUR"', b'"NOK"').replace(b">EUR<", b">NOK<"))\
        .accepted


@pytest.mark.parametrize(("text", "words"), [
    ("[[profile]]\ndocuments = []\n", "give it a name"),
    ('[[profile]]\nname = "x"\n[profile.code_lists.colour]\nseverity = "error"\n',
     "unknown code list 'colour'"),
    ('[[profile]]\nname = "x"\n[profile.code_lists.unit]\nseverity = "fatal"\n',
     "must be error or warning"),
    ('[[profile]]\nname = "x"\n[profile.code_lists.unit]\nsource = "nowhere.gc"\n',
     "does not exist"),
    ('[[profile]]\nname = "x"\n[[profile]]\nname = "x"\n', "names must differ"),
    ('[[profile]]\nname = "x"\ncolour = 1\n', "unknown key(s) colour"),
    ("not toml [", "not a TOML file"),
])
def test_a_bad_profile_file_is_named_with_its_entry(tmp_path, text, words):
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        load_profiles(path)
    assert str(path) in e.value.message and e.value.code == "validation.profile"


def test_a_source_that_is_no_code_list_is_refused(tmp_path):
    other = tmp_path / "other.xml"
    other.write_bytes(INVOICE)
    path = tmp_path / "profiles.toml"
    path.write_text(f'[[profile]]\nname = "x"\n[profile.code_lists.unit]\nsource = "{other}"\n')
    with pytest.raises(ProfileError, match="holds no codes"):
        load_profiles(path)
