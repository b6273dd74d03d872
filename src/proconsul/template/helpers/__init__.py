"""consul-template's helper functions (everything in its funcMap that does not query a server).

`HELPERS` maps template function names to callables for `Template.parse(..., funcs)`; it reads the
process environment and the real clock. `make_helpers(environ, now)` builds the same map over a
given environment and clock. The per-render scratchpad is not in either: the renderer creates a
`Scratch` per execution and adds `"scratch": scratch_func(Scratch())`.

Omitted: `plugin` (runs arbitrary executables), `sockaddr` (go-sockaddr's own template language),
`executeTemplate` (needs the executing template, so it belongs to the renderer), and the Sprig
functions not listed in `sprig.SPRIG`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import arith, collections, encoding, parsing, serialize, sprig, system, text
from .scratch import Scratch, scratch_func
from .timefmt import _utc_now, go_format, make_timestamp

__all__ = ["HELPERS", "Scratch", "go_format", "make_helpers", "scratch_func"]


def make_helpers(
    environ: Mapping[str, str] | None = None, now: Callable[[], datetime] | None = None
) -> dict[str, Callable[..., Any]]:
    """The helper functions over an environment (default: os.environ) and a clock (default: now, UTC)."""
    funcs: dict[str, Callable[..., Any]] = {}
    for module in (text, encoding, collections, parsing, serialize, arith, system):
        funcs.update(module.FUNCS)
    funcs.update(system.make_env_funcs(os.environ if environ is None else environ))
    funcs["timestamp"] = make_timestamp(now or _utc_now)
    funcs.update(sprig.FUNCS)
    return funcs


HELPERS: dict[str, Callable[..., Any]] = make_helpers()
