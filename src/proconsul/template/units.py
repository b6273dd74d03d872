"""One configured template: its parsed form, what it last rendered, and how that went.

The status fields are what `-status-addr` shows: a validation that failed, a command that
failed, a render held back by the empty-list guard are all visible there, while the renderer
keeps running with the last good file in place.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import TemplateConfig
from .data import CatalogSnippet, HealthService
from .dependencies import CatalogServicesQuery, Dependency, HealthServiceQuery
from .languages import compile_template
from .render import Compiled, RenderPass

__all__ = ["TemplateStatus", "TemplateUnit"]

log = logging.getLogger(__name__)


@dataclass
class TemplateStatus:
    evaluations: int = 0  # times the template was executed
    renders: int = 0  # times the destination was (re)written
    validation_failures: int = 0
    command_failures: int = 0
    held: int = 0  # renders refused by the empty-list guard
    last_rendered: float | None = None  # wall-clock time of the last write
    last_error: str | None = None
    last_error_at: float | None = None

    def error(self, message: str) -> None:
        self.last_error, self.last_error_at = message, time.time()

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(eq=False)
class TemplateUnit:
    config: TemplateConfig
    compiled: Compiled
    name: str
    dependencies: frozenset[Dependency] = frozenset()
    complete_once: bool = False  # all its answers arrived and it was rendered at least once
    rendered_lists: dict[Dependency, bool] = field(default_factory=dict)  # service lists: non-empty?
    status: TemplateStatus = field(default_factory=TemplateStatus)
    fire_at: float | None = None  # quiescence: when to render
    deadline: float | None = None  # quiescence: never later than this
    dry_printed: str | None = None  # -dry: the output last printed, so it is printed once

    @classmethod
    def load(
        cls, config: TemplateConfig, function_names: set[str], default_delims: tuple[str, str]
    ) -> TemplateUnit:
        """Read and parse the template; raises on unreadable files and syntax errors."""
        if config.contents is not None:
            text, name = config.contents, config.destination or "contents"
        else:
            assert config.source is not None
            text, name = Path(config.source).read_text(), config.source
        delims = (config.left_delimiter or default_delims[0], config.right_delimiter or default_delims[1])
        compiled = compile_template(
            name,
            text,
            function_names,
            jinja=name.endswith(".j2"),
            delims=delims,
            missing_key_error=config.error_on_missing_key,
        )
        return cls(config=config, compiled=compiled, name=name)

    def guard_refuses(self, result: RenderPass) -> str | None:
        """With `keep_on_empty`: why this render must not replace the last good file, if it must not."""
        if not self.config.keep_on_empty:
            return None
        for dep, value in result.values.items():
            if not isinstance(dep, HealthServiceQuery | CatalogServicesQuery):
                continue
            if self.rendered_lists.get(dep) and not value:
                return f"{dep.describe()} dropped to empty; keeping the last rendered file"
        return None

    def remember_lists(self, result: RenderPass) -> None:
        self.rendered_lists = {
            dep: bool(value)
            for dep, value in result.values.items()
            if isinstance(dep, HealthServiceQuery | CatalogServicesQuery)
            and all(isinstance(v, HealthService | CatalogSnippet) for v in value)
        }

    def schedule(self, now: float, wait_min: float, wait_max: float) -> None:
        """A change arrived: render after `wait_min` of quiet, at most `wait_max` after the first."""
        if self.fire_at is None or self.deadline is None:
            self.deadline = now + wait_max
        self.fire_at = min(now + wait_min, self.deadline)

    def due(self, now: float) -> bool:
        return self.fire_at is not None and now >= self.fire_at

    def clear_schedule(self) -> None:
        self.fire_at = self.deadline = None
