"""The store's column types: SQLAlchemy's, refusing at bind time what a driver would raise on.

The schema declares every column with these, so each value bound to a column (an INSERT, an
UPDATE, or a WHERE comparing with the column) is checked the same way on SQLite and PostgreSQL
(the policy is core/text.py): NUL and lone surrogates in text, text longer than its VARCHAR,
integers wider than their column, NaN and infinities in floats and in JSON. The error is an
`InvalidInput` that SQLAlchemy lets through unwrapped, so the API answers 422, not 500.
"""

from __future__ import annotations

import math
from typing import Any, cast

from sqlalchemy import types
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DontWrapMixin

from core.errors import InvalidInput
from core.text import unstorable


class UnstorableValue(InvalidInput, DontWrapMixin):
    """A value no column of its type can hold; raised before the driver sees it."""


class String(types.TypeDecorator[str]):
    impl = types.String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        problem = unstorable(value)
        if problem is not None:
            raise UnstorableValue(f"text contains {problem}")
        # SQLite ignores a VARCHAR's length; PostgreSQL raises on it. Refuse on both alike.
        length = cast(types.String, self.impl_instance).length
        if length is not None and len(value) > length:
            raise UnstorableValue(f"text is longer than {length} characters")
        return value


class Text(String):
    impl = types.Text
    cache_ok = True


class Integer(types.TypeDecorator[int]):
    impl = types.Integer
    cache_ok = True
    bits = 32

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        if value is not None and not -(2 ** (self.bits - 1)) <= value < 2 ** (self.bits - 1):
            raise UnstorableValue(f"{value} does not fit a {self.bits}-bit integer")
        return value


class BigInteger(Integer):
    impl = types.BigInteger
    cache_ok = True
    bits = 64


class Float(types.TypeDecorator[float]):
    impl = types.Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        if value is not None and not math.isfinite(value):
            raise UnstorableValue(f"{value} is not a finite number")
        return value


class JSON(types.TypeDecorator[Any]):
    """JSON has no NaN or Infinity: PostgreSQL's json refuses them. Text in JSON is stored
    escaped, so NUL and lone surrogates round-trip on both databases."""

    impl = types.JSON
    cache_ok = True
    should_evaluate_none = True  # as types.JSON: None is stored as JSON null, not SQL NULL

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        _refuse_non_finite(value)
        return value


def _refuse_non_finite(value: Any) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValue(f"JSON has no {value}: send a finite number")
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_non_finite(item)
