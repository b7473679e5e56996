"""The members file: the shipped default and every kind of bad file."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.errors import MembersFileError
from adapters.members import CAREC_MEMBERS, default_members_path, load_members

SHIPPED = default_members_path().read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "members.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_file_lists_all_eleven_members_with_a_mix_of_adapters():
    members = load_members()
    assert members.countries == CAREC_MEMBERS
    assert len(members) == 11
    assert {m.adapter for m in members} == {"https-push", "inbox", "edifact-file"}
    kz = members["KZ"]
    assert (kz.code, kz.name, kz.currency, kz.adapter) == ("KZ", "Kazakhstan", "KZT", "inbox")
    assert kz.trust_dir == Path("trust/KZ") and kz.require_signature is True
    uz = members["UZ"]
    assert uz.adapter == "https-push" and uz.currency == "UZS"
    assert uz.settings["endpoint"].startswith("http://127.0.0.1:")
    assert uz.settings["timeout_seconds"] == 10.0
    assert members["AF"].adapter == "edifact-file"
    assert members["AF"].settings["outbox_dir"] == Path("edifact/AF/out")


def test_members_are_frozen_and_read_only():
    kz = load_members()["KZ"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kz.currency = "USD"  # type: ignore[misc]
    with pytest.raises(TypeError):
        kz.settings["x"] = 1  # type: ignore[index]


def test_unknown_code_lookup_is_a_key_error():
    with pytest.raises(KeyError, match="'FR' is not a member"):
        load_members()["FR"]


def test_base_dir_resolves_relative_folders(tmp_path):
    members = load_members(base_dir=tmp_path)
    assert members["AF"].trust_dir == tmp_path / "trust/AF"
    assert members["AF"].settings["inbox_dir"] == tmp_path / "edifact/AF/in"


def test_another_path_is_read(tmp_path):
    text = SHIPPED.replace('name = "Mongolia"', 'name = "Mongolia (test)"')
    assert load_members(_write(tmp_path, text))["MN"].name == "Mongolia (test)"


@pytest.mark.parametrize(("edit", "needle", "message", "code"), [
    (lambda t: t.replace("[members.TM]", "[members.FR]").replace(
        "[members.TM.settings]", "[members.FR.settings]"),
     "[members.FR]", "unknown country 'FR'", "adapter.members-file.unknown-country"),
    (lambda t: t.replace('adapter = "inbox"\n\n[members.KZ]', 'adapter = "carrier-pigeon"\n\n'
                         '[members.KZ]'),
     'adapter = "carrier-pigeon"', "unknown adapter kind 'carrier-pigeon'",
     "adapter.unknown-kind"),
    (lambda t: t.replace('endpoint = "http://127.0.0.1:8701/v1/deliveries"\n', ""),
     "[members.UZ.settings]", "UZ: missing setting 'endpoint' of adapter kind 'https-push'",
     "adapter.setting-missing"),
    (lambda t: t.replace('recipient_id = "PKCUSTOMS"', 'recipient = "PKCUSTOMS"'),
     'recipient = "PKCUSTOMS"', "PK: unknown setting 'recipient'", "adapter.setting-unknown"),
    (lambda t: t.replace("timeout_seconds = 10.0\nconnect", 'timeout_seconds = "soon"\nconnect'),
     'timeout_seconds = "soon"', "setting 'timeout_seconds' must be a number",
     "adapter.setting-invalid"),
    (lambda t: t.replace('endpoint = "http://127.0.0.1:8702', 'endpoint = "ftp://127.0.0.1:8702'),
     'endpoint = "ftp://', "TJ: setting 'endpoint' must be an http(s) URL",
     "adapter.setting-invalid"),
    (lambda t: t.replace('currency = "GEL"', 'currency = "lari"'),
     'currency = "lari"', "GE: currency must be an ISO 4217 code", "adapter.members-file"),
    (lambda t: t.replace('name = "Mongolia"\n', ""),
     "[members.MN]", "MN: missing 'name'", "adapter.members-file.missing"),
    (lambda t: t.replace('name = "Mongolia"', 'name = "Mongolia"\ncolour = "blue"'),
     'colour = "blue"', "MN: unknown key 'colour'", "adapter.members-file"),
    (lambda t: t.replace("require_signature = false\nadapter = \"inbox\"\n\n[members.KZ]",
                         "require_signature = \"no\"\nadapter = \"inbox\"\n\n[members.KZ]"),
     'require_signature = "no"', "KG: require_signature must be true or false",
     "adapter.members-file"),
])
def test_bad_file_names_the_file_and_the_line(tmp_path, edit, needle, message, code):
    text = edit(SHIPPED)
    assert text != SHIPPED
    path = _write(tmp_path, text)
    with pytest.raises(MembersFileError) as info:
        load_members(path)
    err = info.value
    assert err.line == _line_of(text, needle)
    assert message in str(err)
    assert str(err).startswith(f"{path}, line {err.line}: ")
    assert err.code == code
    assert err.path == path


def test_bad_toml_names_the_line(tmp_path):
    text = SHIPPED.replace('name = "Georgia"', 'name = "Georgia')
    path = _write(tmp_path, text)
    with pytest.raises(MembersFileError, match=r"line \d+: bad TOML") as info:
        load_members(path)
    assert info.value.line == _line_of(text, 'name = "Georgia')
    assert info.value.code == "adapter.members-file.toml"


def test_missing_member_is_refused(tmp_path):
    start = SHIPPED.index("[members.TM]")
    end = SHIPPED.index("[members.UZ]")
    path = _write(tmp_path, SHIPPED[:start] + SHIPPED[end:])
    with pytest.raises(MembersFileError, match="CAREC members missing: TM") as info:
        load_members(path)
    assert info.value.code == "adapter.members-file.missing-country"


def test_unreadable_and_empty_files(tmp_path):
    with pytest.raises(MembersFileError, match="cannot be read"):
        load_members(tmp_path / "nope.toml")
    with pytest.raises(MembersFileError, match=r"no \[members.XX\] tables"):
        load_members(_write(tmp_path, "# nothing\n"))


def test_a_member_can_use_a_third_party_adapter_kind(tmp_path):
    from typing import ClassVar

    from adapters.registry import default_registry
    from adapters.settings import Setting, SettingType

    class NationalSingleWindow:  # what a member's own package would declare
        kind: ClassVar[str] = "tj-single-window"
        description: ClassVar[str] = "Tajik single window"
        settings_spec: ClassVar[tuple] = (Setting("gateway", SettingType.URL, required=True),)

    registry = default_registry().with_factory(NationalSingleWindow)
    text = SHIPPED.replace(
        'adapter = "https-push"\n\n[members.TJ.settings]\nendpoint = "http://127.0.0.1:8702'
        '/v1/deliveries"\ndecisions_url = "http://127.0.0.1:8702/v1/decisions"\n'
        'timeout_seconds = 10.0\n',
        'adapter = "tj-single-window"\n\n[members.TJ.settings]\ngateway = "https://sw.tj/in"\n')
    assert text != SHIPPED
    members = load_members(_write(tmp_path, text), registry=registry)
    assert members["TJ"].adapter == "tj-single-window"
    assert dict(members["TJ"].settings) == {"gateway": "https://sw.tj/in"}
    with pytest.raises(MembersFileError, match="unknown adapter kind 'tj-single-window'"):
        load_members(_write(tmp_path, text))  # not installed: refused with its line


@pytest.mark.parametrize("value", ['"carec-corridor"', '[1]', '["Bad Name"]'])
def test_rule_packs_must_be_a_list_of_pack_names(tmp_path, value):
    from adapters.errors import MembersFileError
    from adapters.members import default_members_path, load_members

    text = default_members_path().read_text(encoding="utf-8")
    text = text.replace("[members.KZ]\n", f"[members.KZ]\nrule_packs = {value}\n", 1)
    path = tmp_path / "members.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MembersFileError, match="rule_packs must be a list of rule pack names"):
        load_members(path)
