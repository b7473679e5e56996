"""The root of the exchange's errors, the kinds every package error belongs to, and the two
tables that say what each kind means to a client: an HTTP status (with the problem type
``urn:carec-exchange:problem:<code>``) and a CLI exit code.

    ExchangeError                       (HTTP 500, exit 2: only an error with no kind)
    ├── UsageError        ValueError    bad arguments, request fields or settings (422, exit 2)
    │   ├── ConfigError                     a bad setting, named (503, exit 2)
    │   └── exchange.domain.DomainError     a value the domain does not allow
    │       └── RouteError                  a route of non-members, a country twice
    ├── InputError        OSError       a file or folder cannot be read (422, exit 2)
    ├── NotFoundError     LookupError   nothing of that id in the caller's scope (404, exit 2)
    ├── ConflictError                   the state forbids it now (409, exit 1)
    ├── RefusedError      ValueError    a business rule refuses it (422, exit 1)
    ├── ForbiddenError    PermissionError   the caller's role may not (403, exit 2)
    ├── AuthenticationError             no usable credentials (401, exit 2)
    ├── UnavailableError                a part the exchange needs is down (503, exit 3)
    ├── PackError                       schema pack catalog / store problems (503, exit 2)
    │   ├── UnknownPackError  KeyError
    │   ├── PackNotInstalledError
    │   ├── PackSourceError             the --from source cannot be read
    │   └── DigestMismatchError
    └── DocumentError     ValueError    a document cannot be processed at all (422, exit 1)
        └── UnknownDocumentTypeError

Each feature package draws its own subtree in its ``errors.py``: every class there derives
from one of the kinds above, so both tables cover it without a line of its own (a class may
still have a row when its kind is not enough). Every class has a stable ``code`` (the last
part of the problem type) and a ``title`` (the problem's title); ``extra`` holds members a
problem answer carries beside ``detail`` (a line and column, a report). Safe-parsing errors
come from :mod:`signing.safexml` (``XmlError`` and subclasses).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exchange.i18n import Text, placeholders, t

__all__ = [
    "ConfigError", "EXIT_CODES", "EXIT_INVALID", "EXIT_OK", "EXIT_UNAVAILABLE", "EXIT_USAGE", "HTTP_STATUS", "AuthenticationError", "ConflictError", "DigestMismatchError",
    "DocumentError", "ExchangeError", "FIELD_MESSAGES", "ForbiddenError", "InputError",
    "NotFoundError",
    "PackError", "PackNotInstalledError", "PackSourceError", "RefusedError",
    "UnavailableError", "UnknownDocumentTypeError", "UnknownPackError", "UsageError",
    "exit_code_of", "field_message", "http_status_of",
]


class ExchangeError(Exception):
    """``message`` is a :class:`~exchange.i18n.Text` (``t("...", **params)``) that a problem
    answer, a page or a command renders in its reader's language (:meth:`detail`); a plain
    string (a setting's or a library's words) is shown as it is. ``message`` as an attribute
    is the English text (logs, ``str(exc)``); ``title`` is a class's :class:`Text`."""

    code = "exchange.error"
    title: Text = t("The request cannot be processed")

    def __init__(self, message: str | Text, *, code: str | None = None,
                 **extra: Any):  # Any: JSON values of the problem answer's members
        self.text: Text | None = message if isinstance(message, Text) else None
        self.message = str(message)
        super().__init__(self.message)
        if code is not None:
            self.code = code
        self.extra: dict[str, Any] = extra

    def detail(self, locale: str | None = None) -> str:
        """The message in *locale* (English when None)."""
        return self.text.render(locale) if self.text is not None else self.message

    @property
    def problem_code(self) -> str:
        """The code as the last part of a problem type (``pack.unknown`` -> ``pack-unknown``)."""
        return self.code.replace(".", "-")


class UsageError(ExchangeError, ValueError):
    code = "usage"
    title = t("Unprocessable request")


class ConfigError(UsageError):
    """The configuration is wrong; ``setting`` names the offending setting."""

    code = "config"
    title = t("The exchange is misconfigured")

    def __init__(self, message: str | Text, *, setting: str | None = None):
        super().__init__(t("{setting}: {message}", setting=setting, message=message)
                         if setting else message)
        self.setting = setting


class InputError(ExchangeError, OSError):
    code = "input"
    title = t("The input cannot be read")


class NotFoundError(ExchangeError, LookupError):
    code = "not-found"
    title = t("Not found")

    def __str__(self) -> str:  # LookupError subclasses such as KeyError would quote it
        return self.message


class ConflictError(ExchangeError):
    code = "conflict"
    title = t("Conflict")


class RefusedError(ExchangeError, ValueError):
    code = "refused"
    title = t("Refused")


class ForbiddenError(ExchangeError, PermissionError):
    code = "forbidden"
    title = t("Forbidden")


class AuthenticationError(ExchangeError):
    code = "auth.unauthenticated"
    title = t("Not authenticated")
    challenge = 'Bearer realm="carec-exchange"'
    """The ``WWW-Authenticate`` challenge of the 401 answer."""


class UnavailableError(ExchangeError):
    code = "unavailable"
    title = t("Service unavailable")


class PackError(ExchangeError):
    code = "pack"
    title = t("Schema pack problem")


class UnknownPackError(PackError, KeyError):
    code = "pack.unknown"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class PackNotInstalledError(PackError):
    code = "pack.not-installed"


class PackSourceError(PackError):
    code = "pack.source"


class DigestMismatchError(PackError):
    code = "pack.digest-mismatch"


class DocumentError(ExchangeError, ValueError):
    code = "document"
    title = t("The document cannot be processed")


class UnknownDocumentTypeError(DocumentError):
    code = "document.unknown-type"


HTTP_STATUS: dict[type[ExchangeError], int] = {
    ExchangeError: 500,
    UsageError: 422,
    ConfigError: 503,
    InputError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    RefusedError: 422,
    ForbiddenError: 403,
    AuthenticationError: 401,
    UnavailableError: 503,
    PackError: 503,
    DocumentError: 422,
}
"""Error class -> HTTP status of its problem answer (the nearest class in the MRO wins)."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3

EXIT_CODES: dict[type[ExchangeError], int] = {
    ExchangeError: EXIT_USAGE,
    UsageError: EXIT_USAGE,
    ConfigError: EXIT_USAGE,
    InputError: EXIT_USAGE,
    NotFoundError: EXIT_USAGE,
    ConflictError: EXIT_INVALID,
    RefusedError: EXIT_INVALID,
    ForbiddenError: EXIT_USAGE,
    AuthenticationError: EXIT_USAGE,
    UnavailableError: EXIT_UNAVAILABLE,
    PackError: EXIT_USAGE,
    DocumentError: EXIT_INVALID,
}
"""Error class -> exit code of the ``exchange`` command (0 done, 1 something checked is
invalid or refused, 2 usage, configuration or input error, 3 a needed part is down)."""


def _lookup(table: dict[type[ExchangeError], int], exc: ExchangeError) -> int:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return table[ExchangeError]


def http_status_of(exc: ExchangeError) -> int:
    return _lookup(HTTP_STATUS, exc)


def exit_code_of(exc: ExchangeError) -> int:
    return _lookup(EXIT_CODES, exc)


# ------------------------------------------------- a bad field or setting, in words
FIELD_MESSAGES: dict[str, Text] = {
    "missing": t("this field is required"),
    "extra_forbidden": t("this field is not allowed here"),
    "string_type": t("must be a text"),
    "string_too_short": t("must have at least {min_length} characters"),
    "string_too_long": t("must have at most {max_length} characters"),
    "string_pattern_mismatch": t("must match the pattern {pattern}"),
    "int_parsing": t("must be a whole number"),
    "int_type": t("must be a whole number"),
    "decimal_parsing": t("must be a decimal number, such as 125.50"),
    "decimal_type": t("must be a decimal number, such as 125.50"),
    "float_parsing": t("must be a number"),
    "decimal_max_places": t("must have at most {decimal_places} decimal places"),
    "decimal_max_digits": t("must have at most {max_digits} digits"),
    "greater_than": t("must be greater than {gt}"),
    "greater_than_equal": t("must be {ge} or more"),
    "less_than": t("must be less than {lt}"),
    "less_than_equal": t("must be {le} or less"),
    "enum": t("must be one of: {expected}"),
    "literal_error": t("must be one of: {expected}"),
    "bool_parsing": t("must be true or false"),
    "date_from_datetime_parsing": t("must be a date as YYYY-MM-DD, such as 2026-12-07"),
    "date_parsing": t("must be a date as YYYY-MM-DD, such as 2026-12-07"),
    "datetime_parsing": t("must be a date and time with its UTC offset, such as "
                          "2026-12-07T09:30:00+05:00"),
    "datetime_from_date_parsing": t("must be a date and time with its UTC offset, such as "
                                    "2026-12-07T09:30:00+05:00"),
    "timezone_aware": t("must have a UTC offset, such as +05:00"),
    "list_type": t("must be a list"),
    "too_short": t("must have at least {min_length} items"),
    "too_long": t("must have at most {max_length} items"),
    "dict_type": t("must be an object"),
    "model_attributes_type": t("must be an object"),
    "json_invalid": t("is not valid JSON"),
    "url_parsing": t("must be a URL"),
    "url_scheme": t("must be a URL with one of the schemes {expected_schemes}"),
    "uuid_parsing": t("must be a UUID"),
}
"""pydantic's error type -> the message a person reads (its ``ctx`` fills the placeholders);
a type not listed (a check of our own, ``value_error``) keeps pydantic's message."""


def field_message(error: Mapping[str, Any]) -> str | Text:
    """The message of one pydantic validation error (``type``, ``ctx``, ``msg``): the
    catalogue's where its type is known, else pydantic's own words."""
    known = FIELD_MESSAGES.get(str(error.get("type")))
    if known is None:
        return str(error.get("msg", ""))
    context = dict(error.get("ctx") or {})
    missing = placeholders(known.msgid) - set(context)
    if missing:
        return str(error.get("msg", ""))
    return t(known.msgid, **{key: str(context[key]) for key in placeholders(known.msgid)})
