"""Cursors of keyset pages: where the next page of a list starts, as an opaque, signed value.

A cursor holds the position of the last article of a page in its list's order: its publication
time and id for the public lists and the feed (newest first), its update time and id for the
author's own list (most recently updated first). The next page is the articles after that
position, read off the same index as the first page, so it costs the same at any depth, and
articles published meanwhile (which sort before it) neither shift nor repeat it.

Cursors are signed with SECRET_KEY (django.core.signing), so a client can neither forge nor
edit one; one that does not verify, or that belongs to the other kind of list, is a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.core import signing

# A position in a list ordered newest publication first, or most recently updated first.
Order = Literal["published", "updated"]
_ORDER_CODES: dict[str, Order] = {"p": "published", "u": "updated"}
_SALT = "conduit.cursors"
# Only characters a URL carries as they are: base64url, and "." between value and signature.
_SEPARATOR = "."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Longer than any cursor this module makes.
CURSOR_MAX_LENGTH = 200


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    """The last article of a page: its time in the list's order, and its id (the tie-break)."""

    order: Order
    at: datetime
    id: int


def encode(position: Position) -> str:
    micros = (position.at - _EPOCH) // _MICROSECOND
    return signing.Signer(salt=_SALT, sep=_SEPARATOR).sign_object(
        [position.order[0], micros, position.id]
    )


def decode(cursor: str, order: Order) -> Position:
    """The position a cursor holds, if it verifies and belongs to a list in this order."""
    try:
        code, micros, pk = signing.Signer(salt=_SALT, sep=_SEPARATOR).unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidCursor("Not a cursor of this API.") from exc
    if _ORDER_CODES.get(code) != order:
        raise InvalidCursor("This cursor belongs to another list.")
    if type(micros) is not int or type(pk) is not int or pk < 1:
        raise InvalidCursor("Not a cursor of this API.")
    try:
        at = _EPOCH + micros * _MICROSECOND
    except OverflowError as exc:
        raise InvalidCursor("Not a cursor of this API.") from exc
    return Position(order, at, pk)
