"""Messages for people: written in English where they arise, translated where they are shown.

Domain code does not know the reader's language (and must not import the web layer), so it
marks a message with ``N_`` for ``make messages`` and a page translates it when it shows it.
A message with values keeps them apart from its msgid: the page translates the msgid, then
fills in the values, so translators can reorder them, and a value (user input, say) is never
looked up in a catalog nor read as a format. Everywhere else the message is the English text
with its values filled in: it *is* that ``str`` (logs, API problem details, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class Message(str):
    """English text that remembers its msgid, plural msgid, count and values."""

    msgid: str
    plural: str | None
    num: int | None
    values: Mapping[str, Any]

    def __new__(
        cls,
        msgid: str,
        plural: str | None = None,
        num: int | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Message:
        filled = {**(values or {}), **({"num": num} if num is not None else {})}
        english = plural if plural is not None and num != 1 else msgid
        self = super().__new__(cls, english % filled)
        self.msgid = msgid
        self.plural = plural
        self.num = num
        self.values = MappingProxyType(filled)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.msgid, self.plural, self.num, dict(self.values)))


def N_(message: str, /, **values: Any) -> str:  # noqa: N802 - gettext's "mark, translate later"
    """Mark ``message`` for extraction; the page that shows it translates it. Named values
    (``N_("At most %(num)d addresses.", num=10)``) are filled in after translation."""
    return Message(message, values=values) if values else message


def N_plural(singular: str, plural: str, num: int, /, **values: Any) -> str:  # noqa: N802
    """A message with plural forms, chosen by ``num`` in the reader's language (``%(num)d``
    and the named ``values`` are filled in after translation)."""
    return Message(singular, plural, num, values)
