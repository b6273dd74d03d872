"""add, subtract, multiply, divide, modulo, minimum, maximum with Go's int64/float64 rules.

The piped value comes last: `{{ 5 | subtract 2 }}` is 5 - 2. Integers wrap as int64, integer
division truncates toward zero, and an integer division by zero is Go's runtime panic, which
text/template reports as the call's error; float division by zero gives ±Inf or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._go import go_q, go_type, is_float, is_int, wrap_int64


def _kind(value: Any) -> str | None:
    if is_int(value):
        return "int"
    if is_float(value):
        return "float"
    return None


def _unknown(name: str, value: Any) -> TypeError:
    return TypeError(f"{name}: unknown type for {go_q(value)} ({go_type(value)})")


def _check(name: str, b: Any, a: Any, floats: bool = True) -> tuple[str, str]:
    ka, kb = _kind(a), _kind(b)
    if ka is None or (ka == "float" and not floats):
        raise _unknown(name, a)
    if kb is None or (kb == "float" and not floats):
        raise _unknown(name, b)
    return ka, kb


def _trunc_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return wrap_int64(q if (a >= 0) == (b >= 0) else -q)


def _float_div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return float("nan")
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _binary(name: str, int_op: Callable[[int, int], int], float_op: Callable[[float, float], float]) -> Any:
    def op(b: Any, a: Any) -> Any:
        ka, kb = _check(name, b, a)
        if ka == "int" and kb == "int":
            return wrap_int64(int_op(int(a), int(b)))
        return float_op(float(a), float(b))

    op.__name__ = name
    return op


add = _binary("add", lambda a, b: a + b, lambda a, b: a + b)
subtract = _binary("subtract", lambda a, b: a - b, lambda a, b: a - b)
multiply = _binary("multiply", lambda a, b: a * b, lambda a, b: a * b)
divide = _binary("divide", _trunc_div, _float_div)


def modulo(b: Any, a: Any) -> int:
    """a % b for integers only; the result has the sign of a, as in Go."""
    _check("modulo", b, a, floats=False)
    if b == 0:
        raise ZeroDivisionError("runtime error: integer divide by zero")
    return wrap_int64(int(a) - int(b) * _trunc_div(int(a), int(b)))


def minimum(b: Any, a: Any) -> Any:
    """The smaller of a and b, keeping its own type."""
    _check("minimum", b, a)
    return a if a < b else b


def maximum(b: Any, a: Any) -> Any:
    """The larger of a and b, keeping its own type."""
    _check("maximum", b, a)
    return a if a > b else b


FUNCS = {
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "divide": divide,
    "modulo": modulo,
    "minimum": minimum,
    "maximum": maximum,
}
