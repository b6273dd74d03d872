"""Executing one template against what the watcher knows, recording what it asked for.

Rendering is multi-phase, as in consul-template: a query whose answer has not arrived yet
returns an empty value and is recorded as missing, so the first pass discovers the template's
dependencies (and a later pass may discover more, e.g. `service .Name` inside `range services`).
The output counts only when nothing was missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import dependencies as deps
from .data import KeyPair
from .dependencies import Dependency
from .helpers import Scratch, make_helpers, scratch_func

__all__ = ["API_FUNCTIONS", "Compiled", "Recorder", "RenderPass", "function_names", "render"]

API_FUNCTIONS = (
    "datacenters",
    "file",
    "key",
    "keyExists",
    "keyOrDefault",
    "ls",
    "node",
    "nodes",
    "safeLs",
    "safeTree",
    "service",
    "services",
    "tree",
)
PER_RENDER = ("scratch", "executeTemplate")


class Compiled(Protocol):
    """A parsed template of either language."""

    def execute(self, funcs: Mapping[str, Callable[..., Any]]) -> str: ...

    def execute_named(self, name: str, data: Any, funcs: Mapping[str, Callable[..., Any]]) -> str: ...


def function_names(environ: Mapping[str, str]) -> set[str]:
    """Every function a template may call, known before parsing (Go checks names at parse time)."""
    return set(make_helpers(environ)) | set(API_FUNCTIONS) | set(PER_RENDER)


class Recorder:
    """The API functions of one render pass, answering from the watcher's results."""

    def __init__(self, results: Mapping[Dependency, Any]) -> None:
        self.results = results
        self.used: dict[Dependency, None] = {}  # insertion-ordered set
        self.missing: set[Dependency] = set()
        self.refused: list[str] = []  # safeLs/safeTree on an empty prefix

    def _get(self, dep: Dependency, empty: Any) -> Any:
        self.used[dep] = None
        if dep in self.results:
            return self.results[dep]
        self.missing.add(dep)
        return empty

    def service(self, *args: str) -> Any:
        return self._get(deps.parse_service(*args), ())

    def services(self, *args: str) -> Any:
        return self._get(deps.parse_services(*args), ())

    def nodes(self, *args: str) -> Any:
        return self._get(deps.parse_nodes(*args), ())

    def node(self, *args: str) -> Any:
        return self._get(deps.parse_node(*args), None)

    def datacenters(self, ignore_inaccessible: bool = False) -> Any:
        return self._get(deps.DatacentersQuery(ignore_inaccessible=bool(ignore_inaccessible)), ())

    def key(self, path: str) -> str:
        value = self._get(deps.parse_key(path, block=True), None)
        return "" if value is None else str(value)

    def key_exists(self, path: str) -> bool:
        return self._get(deps.parse_key(path), None) is not None

    def key_or_default(self, path: str, default: str) -> str:
        value = self._get(deps.parse_key(path), None)
        return default if value is None else str(value)

    def _pairs(self, prefix: str) -> tuple[KeyPair, ...]:
        pairs: tuple[KeyPair, ...] = self._get(deps.parse_prefix(prefix), ())
        return pairs

    def ls(self, prefix: str) -> list[KeyPair]:
        return [p for p in self._pairs(prefix) if "/" not in p.Key]

    def tree(self, prefix: str) -> list[KeyPair]:
        return [p for p in self._pairs(prefix) if not p.Key.endswith("/")]

    def safe_ls(self, prefix: str) -> list[KeyPair]:
        return self._refuse_empty("safeLs", prefix, self.ls(prefix))

    def safe_tree(self, prefix: str) -> list[KeyPair]:
        return self._refuse_empty("safeTree", prefix, self.tree(prefix))

    def _refuse_empty(self, name: str, prefix: str, pairs: list[KeyPair]) -> list[KeyPair]:
        dep = deps.parse_prefix(prefix)
        if not pairs and dep in self.results:
            self.refused.append(f'{name} "{prefix}": no keys under the prefix')
        return pairs

    def file(self, path: str) -> str:
        value = self._get(deps.FileQuery(path=path), None)
        return "" if value is None else str(value)

    def functions(self) -> dict[str, Callable[..., Any]]:
        return {
            "datacenters": self.datacenters,
            "file": self.file,
            "key": self.key,
            "keyExists": self.key_exists,
            "keyOrDefault": self.key_or_default,
            "ls": self.ls,
            "node": self.node,
            "nodes": self.nodes,
            "safeLs": self.safe_ls,
            "safeTree": self.safe_tree,
            "service": self.service,
            "services": self.services,
            "tree": self.tree,
        }


@dataclass
class RenderPass:
    """The outcome of one execution: output only when every dependency had its answer."""

    output: str | None
    used: tuple[Dependency, ...]
    missing: frozenset[Dependency] = frozenset()
    refused: tuple[str, ...] = ()
    error: str | None = None
    values: dict[Dependency, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.output is not None


def render(
    compiled: Compiled,
    results: Mapping[Dependency, Any],
    helpers: Mapping[str, Callable[..., Any]],
    denied: Iterable[str] = (),
) -> RenderPass:
    """Run one pass of `compiled`; template errors come back in `error`, never raised."""
    recorder = Recorder(results)
    funcs: dict[str, Callable[..., Any]] = {
        **helpers,
        **recorder.functions(),
        "scratch": scratch_func(Scratch()),
    }
    funcs["executeTemplate"] = lambda name, data=None: compiled.execute_named(str(name), data, funcs)
    for name in denied:
        funcs[name] = _denied(name)
    try:
        output: str | None = compiled.execute(funcs)
    except Exception as exc:  # a template's own error: reported, and the last good file stays
        # with answers still missing, the error may come from an empty value (`index (service "x") 0`)
        error = None if recorder.missing else str(exc)
        return RenderPass(None, tuple(recorder.used), frozenset(recorder.missing), error=error)
    if recorder.missing or recorder.refused:
        output = None
    values = {dep: results[dep] for dep in recorder.used if dep in results}
    return RenderPass(
        output, tuple(recorder.used), frozenset(recorder.missing), tuple(recorder.refused), values=values
    )


def _denied(name: str) -> Callable[..., Any]:
    def call(*_args: Any) -> Any:
        raise PermissionError(f"function {name!r} is disabled")

    return call
