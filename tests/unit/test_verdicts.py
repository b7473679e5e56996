"""Every reason code of :mod:`signing` has a sentence and a short word in the exchange's
words; a report without ``params`` (stored before they existed) falls back to the word."""
from __future__ import annotations

import pytest

from exchange.verdicts import SIGNATURE_WORDS, _signature_sentence, signature_verdict, xml_refusal
from signing.report import Reason
from signing.safexml import UnsafeXmlError, parse_xml


@pytest.mark.parametrize("reason", list(Reason))
def test_each_reason_has_a_sentence_and_a_word(reason: Reason) -> None:
    assert _signature_sentence(str(reason), {}) is not None
    assert str(reason) in SIGNATURE_WORDS


def test_a_report_without_params_says_the_short_word() -> None:
    assert signature_verdict("wrong-country", None) is SIGNATURE_WORDS["wrong-country"]
    assert signature_verdict("something-new").render("ru") == (
        "электронная подпись не прошла проверку (something-new)")


@pytest.mark.parametrize("data, start", [
    (b"x" * 2_000, "Размер документа 2,000 байт превышает предел 1,000 байт"),
    (b"<?xml version='1.0' encoding='UTF-16'?><a/>", "В XML-объявлении указано"),
    (b"<?xml version='1.0' encoding='nope'?><a/>", "В XML-объявлении указана неизвестная"),
    (b"<a xmlns:xi='http://www.w3.org/2001/XInclude'><xi:include href='x'/></a>",
     "Документ использует XInclude (include)"),
])
def test_xml_refusals_in_russian(data: bytes, start: str) -> None:
    from signing.safexml import XmlLimits

    with pytest.raises(UnsafeXmlError) as refused:
        parse_xml(data, limits=XmlLimits(max_bytes=1_000))
    assert str(xml_refusal(refused.value).render("ru")).startswith(start)
