"""The `exchange` command speaks the reader's language: `--lang` before the command, else the
locale of the environment (LC_ALL, LC_MESSAGES, LANG), else English; what scripts read (tab-
separated lines, codes, exit codes) is the same in every language."""
from __future__ import annotations

import pytest

from tests.fixtures.packs import UBL_EXAMPLES

INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
BAD_DATE = INVOICE.replace(b"<cbc:IssueDate>2009-12-15<", b"<cbc:IssueDate>2009-13-45<", 1)


@pytest.fixture
def in_locale(cli_env):
    def env(lang: str) -> dict[str, str]:
        chosen = {k: v for k, v in cli_env.items() if k not in ("LC_ALL", "LC_MESSAGES")}
        chosen["LANG"] = lang
        return chosen
    return env


def test_an_error_is_in_the_locale_language(run_cli, in_locale):
    ru = run_cli("trust", "list", "--trust", "/nonexistent/trust", env=in_locale("ru_RU.UTF-8"))
    assert ru.returncode == 2
    assert "ошибка: /nonexistent/trust: папка списков доверенных сертификатов не найдена" \
        in ru.stderr.decode()
    zh = run_cli("--lang", "zh", "trust", "list", "--trust", "/nonexistent/trust",
                 env=in_locale("ru_RU.UTF-8"))  # --lang wins over the locale
    assert zh.returncode == 2 and "错误：/nonexistent/trust：未找到信任列表文件夹" in zh.stderr.decode()
    c = run_cli("trust", "list", "--trust", "/nonexistent/trust", env=in_locale("C"))
    assert c.returncode == 2 and c.stderr == b"error: /nonexistent/trust: trust folder not found\n"


def test_a_missing_file_is_named_with_a_translated_prefix(run_cli, in_locale):
    ru = run_cli("validate", "/nonexistent/invoice.xml", env=in_locale("ru_RU.UTF-8"))
    assert ru.returncode == 2 and ru.stderr.decode().startswith("ошибка: /nonexistent/invoice.xml")
    c = run_cli("validate", "/nonexistent/invoice.xml", env=in_locale("C"))
    assert c.returncode == 2 and c.stderr.decode().startswith("error: /nonexistent/invoice.xml")


def test_validate_of_a_broken_file_reports_in_the_reader_language(run_cli, in_locale, tmp_path):
    bad = tmp_path / "bad-date.xml"
    bad.write_bytes(BAD_DATE)
    report = tmp_path / "missing-folder" / "report.txt"
    for env, lang, expected in ((in_locale("ru_RU.UTF-8"), (), "невозможно записать протокол "
                                 "проверки в"),
                                (in_locale("C"), ("--lang", "zh"), "无法将校验报告写入"),
                                (in_locale("C"), (), "cannot write the report to")):
        done = run_cli(*lang, "validate", str(bad), "-o", str(report), env=env)
        assert done.returncode == 2 and expected in done.stderr.decode(), done.stderr.decode()
    # the findings themselves follow the same choice, the command's own --lang too
    ru = run_cli("validate", "--lang", "ru", str(bad), env=in_locale("C"))
    assert ru.returncode == 1 and "/Invoice/cbc:IssueDate" in ru.stdout.decode()
    assert ru.stdout.decode() != run_cli("validate", str(bad), env=in_locale("C")).stdout.decode()


def test_schemas_list_is_translated_and_its_script_lines_are_not(run_cli, in_locale):
    zh = run_cli("--lang", "zh", "schemas", "list", env=in_locale("C"))
    assert zh.returncode == 0, zh.stderr
    assert "模式包（存储位置" in zh.stdout.decode() and "已安装" in zh.stdout.decode()
    ru = run_cli("schemas", "list", env=in_locale("ru_RU.UTF-8"))
    assert "Пакеты схем (хранилище" in ru.stdout.decode() and "установлен" in ru.stdout.decode()
    c = run_cli("schemas", "list", env=in_locale("C"))
    assert "Schema packs (store" in c.stdout.decode() and "installed" in c.stdout.decode()
    assert run_cli("schemas", "list", "--types", env=in_locale("ru_RU.UTF-8")).stdout \
        == run_cli("schemas", "list", "--types", env=in_locale("C")).stdout


def test_help_is_in_the_locale_language_or_the_lang_option(run_cli, in_locale):
    """Typer builds the help as the commands register: from the locale, or from a `--lang`
    among the arguments, read before the commands register."""
    ru = run_cli("--help", env=in_locale("ru_RU.UTF-8"))
    assert ru.returncode == 0, ru.stderr
    assert "Обменный узел электронных документов" in ru.stdout.decode()
    assert "Проверить торговые документы" in ru.stdout.decode()  # validate, in the list
    zh = run_cli("--lang", "zh", "validate", "--help", env=in_locale("ru_RU.UTF-8"))
    assert zh.returncode == 0, zh.stderr
    assert "校验贸易单证" in zh.stdout.decode() and "输出格式" in zh.stdout.decode()
    assert "…" not in zh.stdout.decode()  # Chinese lines fold, none is cut short
    ru_rules = run_cli("rules", "check", "--help", env=in_locale("ru_RU.UTF-8"))
    assert "Применить пакеты бизнес-правил" in ru_rules.stdout.decode()
    own = run_cli("validate", "--lang=ru", "--help", env=in_locale("C"))  # the command's --lang
    assert "Проверить торговые документы" in own.stdout.decode()
    c = run_cli("validate", "--help", env=in_locale("C"))
    assert c.returncode == 0 and "Validate trade documents" in c.stdout.decode()
    assert "Output format." in c.stdout.decode()


def test_the_validation_report_is_in_the_reader_language(run_cli, in_locale, tmp_path):
    bad = tmp_path / "bad-date.xml"
    bad.write_bytes(BAD_DATE)
    good = tmp_path / "invoice.xml"
    good.write_bytes(INVOICE)
    ru = run_cli("validate", str(good), str(bad), env=in_locale("ru_RU.UTF-8"))
    assert ru.returncode == 1
    out = ru.stdout.decode()
    assert f"{bad}: НЕ ПРОШЁЛ ПРОВЕРКУ (Invoice, ubl-2.4)" in out, out
    assert f"{good}: прошёл проверку (Invoice, ubl-2.4)" in out
    assert "документов: 2; прошли проверку: 1, не прошли: 1" in out
    assert " error [" in out  # the finding lines keep their codes
    zh = run_cli("--lang", "zh", "validate", str(good), str(bad), env=in_locale("C"))
    assert "单证共 2 份：有效 1 份，无效 1 份" in zh.stdout.decode()
    c = run_cli("validate", str(good), str(bad), env=in_locale("C"))
    assert "2 document(s): 1 valid, 1 invalid" in c.stdout.decode()
    assert f"{bad}: INVALID (Invoice, ubl-2.4)" in c.stdout.decode()
