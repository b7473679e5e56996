"""What a finding says: one message per kind of mistake, each saying what is wrong, what is
expected and, where it helps, an example of a right value.

The messages are ids of the ``validation`` catalogue (``exchange/locale/<locale>/LC_MESSAGES/
validation.po``); each function returns the rule id (stable, for integrators and filters) and
the :class:`~exchange.i18n.Text` to render in the reader's language. Names of elements and
attributes (``cbc:IssueDate``), values and examples are data and stay as they are.
"""
from __future__ import annotations

from exchange.i18n import Text, t

__all__ = [
    "EXAMPLES", "attribute_missing", "attribute_not_allowed", "bad_value", "empty",
    "misplaced", "missing", "text_not_allowed", "too_many", "unexpected", "wrong_order",
    "facet", "unknown_type", "root_mismatch", "code_list",
]

# An example of a right value per XML Schema built-in type (the first match in a type's
# derivation chain wins, so ``integer`` comes before ``decimal``).
EXAMPLES: dict[str, str] = {
    "date": "2026-12-06", "time": "14:30:00", "dateTime": "2026-12-06T14:30:00",
    "gYear": "2026", "integer": "12", "nonNegativeInteger": "12", "positiveInteger": "12",
    "decimal": "1234.50", "double": "1234.5", "float": "1234.5", "boolean": "true",
    "duration": "P3D", "anyURI": "https://example.org/a", "base64Binary": "SGVsbG8=",
    "language": "en",
}
ATTRIBUTE_EXAMPLES: dict[str, str] = {
    "currencyID": "EUR", "unitCode": "KGM", "schemeID": "0088", "listID": "UN/ECE 4461",
    "mimeCode": "application/pdf", "filename": "invoice.pdf", "languageID": "en",
}


def missing(element: str, parent: str, *, before: str | None, after: str | None
            ) -> tuple[str, Text]:
    if before:
        return "xsd.missing-element", t(
            "{element} is missing: {parent} needs it here, before {next}",
            element=element, parent=parent, next=before)
    if after:
        return "xsd.missing-element", t(
            "{element} is missing: {parent} needs it here, after {previous}",
            element=element, parent=parent, previous=after)
    return "xsd.missing-element", t("{element} is missing: {parent} needs it",
                                    element=element, parent=parent)


def wrong_order(element: str, parent: str, before: str) -> tuple[str, Text]:
    return "xsd.wrong-order", t(
        "{element} is in the wrong place: in {parent} it must come before {next}",
        element=element, parent=parent, next=before)


def misplaced(element: str, parent: str, before: str | None) -> tuple[str, Text]:
    if before:
        return "xsd.wrong-order", t(
            "{element} is in the wrong place: move it before {next} in {parent}",
            element=element, parent=parent, next=before)
    return "xsd.wrong-order", t(
        "{element} is in the wrong place: move it to the end of {parent}",
        element=element, parent=parent)


def too_many(element: str, parent: str, most: int) -> tuple[str, Text]:
    return "xsd.too-many", t(
        "{element} appears too often: {parent} allows it at most {max} time(s); remove this one",
        element=element, parent=parent, max=str(most))


def unexpected(element: str, parent: str, expected: str | None) -> tuple[str, Text]:
    if expected:
        return "xsd.unexpected-element", t(
            "{element} is not allowed in {parent}: check its name and namespace; expected "
            "here: {expected}", element=element, parent=parent, expected=expected)
    return "xsd.unexpected-element", t(
        "{element} is not allowed in {parent}: check its name and namespace, or remove it",
        element=element, parent=parent)


def text_not_allowed(element: str) -> tuple[str, Text]:
    return "xsd.text-not-allowed", t(
        "{element} holds text, but it may only hold other elements: remove the text",
        element=element)


def empty(element: str, kind: str | None) -> tuple[str, Text]:
    example = EXAMPLES.get(kind or "")
    if example:
        return "xsd.empty", t("{element} is empty: give a value, e.g. {example}",
                              element=element, example=example)
    return "xsd.empty", t("{element} is empty: give a value", element=element)


def bad_value(element: str, kind: str | None, value: str) -> tuple[str, Text]:
    """A value that is not of its type (the type's primitive *kind*: date, decimal...)."""
    if kind == "date":
        return "xsd.bad-date", t(
            "{element} must be a date as YYYY-MM-DD, e.g. {example}; found {value}",
            element=element, example=EXAMPLES["date"], value=value)
    if kind == "time":
        return "xsd.bad-time", t(
            "{element} must be a time as hh:mm:ss, e.g. {example}; found {value}",
            element=element, example=EXAMPLES["time"], value=value)
    if kind == "dateTime":
        return "xsd.bad-date-time", t(
            "{element} must be a date and time as YYYY-MM-DDThh:mm:ss, e.g. {example}; "
            "found {value}", element=element, example=EXAMPLES["dateTime"], value=value)
    if kind in ("integer", "nonNegativeInteger", "positiveInteger"):
        return "xsd.bad-number", t(
            "{element} must be a whole number, e.g. {example}; found {value}",
            element=element, example=EXAMPLES["integer"], value=value)
    if kind in ("decimal", "double", "float"):
        return "xsd.bad-number", t(
            "{element} must be a number with a dot before the decimals and no thousands "
            "separator, e.g. {example}; found {value}",
            element=element, example=EXAMPLES["decimal"], value=value)
    if kind == "boolean":
        return "xsd.bad-boolean", t("{element} must be true or false; found {value}",
                                    element=element, value=value)
    example = EXAMPLES.get(kind or "")
    if example:
        return "xsd.bad-value", t(
            "{element} does not hold a valid {type} value, e.g. {example}; found {value}",
            element=element, type=kind, example=example, value=value)
    return "xsd.bad-value", t("{element} does not hold a valid value; found {value}",
                              element=element, value=value)


def facet(element: str, kind: str, value: str, limit: str) -> tuple[str, Text]:
    """A value outside a facet of its type: a list of codes, a length, a pattern, a range."""
    if kind == "enumeration":
        return "xsd.bad-code", t("{element} must be one of {allowed}; found {value}",
                                 element=element, allowed=limit, value=value)
    if kind == "maxLength":
        return "xsd.too-long", t(
            "{element} is too long: at most {max} characters; found {length}",
            element=element, max=limit, length=str(len(value)))
    if kind == "minLength":
        return "xsd.too-short", t(
            "{element} is too short: at least {min} characters; found {length}",
            element=element, min=limit, length=str(len(value)))
    if kind == "length":
        return "xsd.wrong-length", t(
            "{element} must be exactly {count} characters long; found {length}",
            element=element, count=limit, length=str(len(value)))
    if kind == "pattern":
        return "xsd.pattern", t(
            "{element} does not have the required form ({pattern}); found {value}",
            element=element, pattern=limit, value=value)
    return "xsd.out-of-range", t("{element} is out of range ({limit}); found {value}",
                                 element=element, limit=limit, value=value)


def attribute_missing(element: str, attribute: str) -> tuple[str, Text]:
    example = ATTRIBUTE_EXAMPLES.get(attribute)
    if example:
        return "xsd.attribute-missing", t(
            "{element} needs the attribute {attribute}, e.g. {attribute}=\"{example}\"",
            element=element, attribute=attribute, example=example)
    return "xsd.attribute-missing", t("{element} needs the attribute {attribute}",
                                      element=element, attribute=attribute)


def attribute_not_allowed(element: str, attribute: str, allowed: list[str]
                          ) -> tuple[str, Text]:
    near = [a for a in allowed if a.lower() == attribute.lower()]
    if near:
        return "xsd.attribute-not-allowed", t(
            "{element} has the attribute {attribute}, which is not allowed: did you mean "
            "{suggestion}? (names are case-sensitive)",
            element=element, attribute=attribute, suggestion=near[0])
    if allowed:
        return "xsd.attribute-not-allowed", t(
            "{element} has the attribute {attribute}, which is not allowed; allowed: {allowed}",
            element=element, attribute=attribute, allowed=", ".join(allowed))
    return "xsd.attribute-not-allowed", t(
        "{element} has the attribute {attribute}, which is not allowed: remove it",
        element=element, attribute=attribute)


def unknown_type(root: str, namespace: str, known: str) -> tuple[str, Text]:
    return "document.unknown-type", t(
        "unknown document type: root element {root} in namespace {namespace} belongs to no "
        "known standard (known schema packs: {known})",
        root=root, namespace=namespace, known=known)


def root_mismatch(root: str, expected: str) -> tuple[str, Text]:
    return "document.root-mismatch", t(
        "root element {root} does not match its namespace, which belongs to {expected}",
        root=root, expected=expected)


def code_list(kind: str, value: str) -> tuple[str, Text]:
    """A value outside its code list (*kind*: currency, country, unit, unit-deleted)."""
    if kind == "currency":
        return "codelist.currency", t(
            "{value} is not an ISO 4217 currency code: use three capital letters such as EUR, "
            "USD or KZT", value=repr(value))
    if kind == "country":
        return "codelist.country", t(
            "{value} is not an ISO 3166-1 alpha-2 country code: use two capital letters such "
            "as KZ, UZ or CN", value=repr(value))
    if kind == "unit-deleted":
        return "codelist.unit.deleted", t(
            "unit code {value} has been deleted from UN/ECE Recommendation 20: use the code "
            "that replaced it", value=repr(value))
    return "codelist.unit", t(
        "{value} is not a UN/ECE Recommendation 20 unit code: use a code such as KGM "
        "(kilogram), C62 (piece) or XBX (box)", value=repr(value))
