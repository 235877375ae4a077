"""Lists said the way a person says them: "a cat, a cup and a bowl", "red, green, blue or yellow"."""

from __future__ import annotations

from collections.abc import Iterable


def in_words(items: Iterable[str], conjunction: str = "and", serial_comma: bool = False) -> str:
    """`items` joined by commas, the last by `conjunction` (after a comma too with `serial_comma`)."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    last = f", {conjunction} " if serial_comma and len(items) > 2 else f" {conjunction} "
    return ", ".join(items[:-1]) + last + items[-1]
