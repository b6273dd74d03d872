"""Write a rendered template to disk safely.

What consul-template does (``renderer.AtomicWrite``): skip identical content; otherwise temp file in
the destination directory, fsync, chmod, optional ``.bak`` hard link, rename. What we add:

* ``validate``: a check command. With the ``{{.src}}`` placeholder it runs against the staged temp
  file *before* the swap (confd's ``check_cmd``); without it (``nginx -t`` testing the main config
  that includes the destination) the new file is swapped in, checked, and the previous file is put
  back atomically if the check fails. Either way the last good file stays in place.
* ``in_place``: rewrite the existing inode instead of renaming, for single-file bind mounts; also
  used as a fallback when the rename fails with EBUSY (a bind-mounted destination).

File I/O is done synchronously: rendered templates are small, and keeping it on the event loop
thread means cancellation can never leave a temp file behind.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shlex
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from proconsul.template.commands import run_command

log = logging.getLogger(__name__)

DEFAULT_MODE = 0o644
_PLACEHOLDER = re.compile(r"\{\{\s*\.src\s*\}\}")


@dataclass(frozen=True)
class OutputOptions:
    perms: int | None = None
    """File mode; None keeps the existing file's mode, 0o644 for a new file."""
    backup: bool = False
    """Keep the previous file as ``<dest>.bak`` (exactly one backup)."""
    create_dirs: bool = True
    """Create missing parent directories."""
    in_place: bool = False
    """Rewrite the existing file's inode instead of renaming over it (single-file bind mounts)."""
    validate: str | tuple[str, ...] | None = None
    """Check command; ``{{.src}}`` is replaced by the staged file's path. A string runs via ``sh -c``."""
    validate_timeout: float = 30.0


@dataclass(frozen=True)
class WriteOutcome:
    changed: bool
    """The new content differs from what is on disk."""
    written: bool
    """The destination now holds the new content."""
    error: str | None
    """Why it was not written (validation output, OS error), else None. In the rare case that a failed
    check could not be undone, ``written`` is True and ``error`` says so."""


def has_placeholder(command: str | tuple[str, ...]) -> bool:
    parts = (command,) if isinstance(command, str) else command
    return any(_PLACEHOLDER.search(part) for part in parts)


def substitute_src(command: str | tuple[str, ...], src: str) -> str | tuple[str, ...]:
    """Replace ``{{.src}}`` with ``src``: shell-quoted in a ``sh -c`` string, verbatim in exec form."""
    if isinstance(command, str):
        quoted = shlex.quote(src)
        return _PLACEHOLDER.sub(lambda _: quoted, command)
    return tuple(_PLACEHOLDER.sub(lambda _: src, part) for part in command)


def _temp_path(directory: str, name: str, suffix: str) -> str:
    fd, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=suffix)
    os.close(fd)
    return path


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_fd(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _stage(directory: str, name: str, content: bytes, mode: int, owner: tuple[int, int] | None) -> str:
    """A temp file next to the destination holding ``content``, synced, with its final mode and owner."""
    fd, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        try:
            _write_fd(fd, content)
            os.fsync(fd)
            if owner is not None:
                os.fchown(fd, *owner)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def _rewrite_in_place(path: str, content: bytes) -> None:
    """Overwrite ``path``'s bytes keeping its inode: write from offset 0, truncate, fsync."""
    fd = os.open(path, os.O_WRONLY)
    try:
        _write_fd(fd, content)
        os.ftruncate(fd, len(content))
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_copy(dest: str, directory: str, name: str, previous: bytes, suffix: str) -> str:
    """A second name for the current destination: a hard link, or a copy where links are impossible."""
    saved = _temp_path(directory, name, suffix)
    try:
        os.unlink(saved)
        os.link(dest, saved)
    except OSError:
        st = os.stat(dest)
        with contextlib.suppress(OSError):
            os.unlink(saved)
        return _stage(directory, name, previous, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid))
    return saved


def _backup_bytes(directory: str, name: str, dest: str, previous: bytes, mode: int) -> None:
    staged = _stage(directory, name, previous, mode, None)
    try:
        os.replace(staged, dest + ".bak")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise


def _absolute(path: str) -> str:
    return os.path.abspath(path)


def _read_existing(dest: str) -> tuple[bytes | None, os.stat_result | None]:
    """The destination's current bytes and status (following a symlink), or (None, None) if missing."""
    try:
        with open(dest, "rb") as f:
            return f.read(), os.fstat(f.fileno())
    except FileNotFoundError:
        return None, None


def _ensure_dir(directory: str, create: bool) -> bool:
    """Whether ``directory`` exists (after creating it when ``create``)."""
    if os.path.isdir(directory):
        return True
    if not create:
        return False
    os.makedirs(directory, exist_ok=True)
    return True


async def _check(
    command: str | tuple[str, ...], options: OutputOptions, env: Mapping[str, str]
) -> str | None:
    """Run the validation command; the error text on failure, else None."""
    result = await run_command(command, timeout=options.validate_timeout, env=env)
    if result.ok:
        return None
    return f"validation failed ({result.describe()})"


async def write_output(
    path: str, content: bytes, options: OutputOptions, env: Mapping[str, str]
) -> WriteOutcome:
    """Write ``content`` to ``path`` if it differs from what is there; see the module docstring.

    Never raises for validation failures or OS errors: they come back in ``WriteOutcome.error``.
    """
    dest = _absolute(path)
    directory, name = os.path.split(dest)
    try:
        previous, st = _read_existing(dest)
    except OSError as e:
        return WriteOutcome(True, False, f"reading {dest}: {e.strerror or e}")
    if previous == content:
        return WriteOutcome(False, False, None)

    cleanup: list[str] = []
    try:
        if not _ensure_dir(directory, options.create_dirs):
            return WriteOutcome(True, False, f"writing {dest}: directory {directory} does not exist")
        return await _write_changed(dest, directory, name, content, previous, st, options, env, cleanup)
    except OSError as e:
        where = e.filename or dest
        return WriteOutcome(True, False, f"writing {dest}: {where}: {e.strerror or e}")
    finally:
        for leftover in cleanup:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


async def _write_changed(
    dest: str,
    directory: str,
    name: str,
    content: bytes,
    previous: bytes | None,
    st: os.stat_result | None,
    options: OutputOptions,
    env: Mapping[str, str],
    cleanup: list[str],
) -> WriteOutcome:
    mode = options.perms if options.perms is not None else (stat.S_IMODE(st.st_mode) if st else DEFAULT_MODE)
    owner = (st.st_uid, st.st_gid) if st is not None and os.geteuid() == 0 else None
    validate = options.validate
    pre_check = validate is not None and has_placeholder(validate)

    staged: str | None = None
    if not (options.in_place and previous is not None) or pre_check:
        staged = _stage(directory, name, content, mode, owner)
        cleanup.append(staged)

    if validate is not None and pre_check:
        assert staged is not None
        error = await _check(substitute_src(validate, staged), options, env)
        if error is not None:
            log.info("%s: not written: %s", dest, error)
            return WriteOutcome(True, False, error)
        validate = None  # checked; nothing left to do after the swap

    if options.in_place and previous is not None:
        return await _swap_in_place(dest, directory, name, content, previous, mode, options, validate, env)

    assert staged is not None
    saved: str | None = None
    if previous is not None and (options.backup or validate is not None):
        saved = _keep_copy(dest, directory, name, previous, ".prev")
        cleanup.append(saved)
    try:
        os.replace(staged, dest)
    except OSError as e:
        if e.errno != errno.EBUSY or previous is None:
            raise
        # A bind-mounted single file can't be renamed over: fall back to rewriting it in place.
        log.warning("%s: rename failed (%s); rewriting the file in place", dest, e.strerror)
        return await _swap_in_place(dest, directory, name, content, previous, mode, options, validate, env)
    _fsync_dir(directory)

    if validate is not None:
        failed = await _check_or_restore(dest, directory, saved, validate, options, env)
        if failed is not None:
            return failed
    if options.backup and saved is not None:
        try:
            os.replace(saved, dest + ".bak")
        except OSError as e:
            log.warning("%s: written, but keeping the backup failed: %s", dest, e)
    log.info("%s: written", dest)
    return WriteOutcome(True, True, None)


async def _check_or_restore(
    dest: str,
    directory: str,
    saved: str | None,
    validate: str | tuple[str, ...],
    options: OutputOptions,
    env: Mapping[str, str],
) -> WriteOutcome | None:
    """Run a placeholder-less check against the swapped-in file; put the previous file back on failure."""
    try:
        error = await _check(validate, options, env)
    except BaseException:
        _restore(dest, directory, saved)
        raise
    if error is None:
        return None
    try:
        _restore(dest, directory, saved)
    except OSError as e:
        log.error("%s: %s; restoring the previous file failed: %s", dest, error, e)
        return WriteOutcome(True, True, f"{error}; restoring the previous file failed: {e}")
    log.info("%s: %s; previous content restored", dest, error)
    return WriteOutcome(True, False, error)


def _restore(dest: str, directory: str, saved: str | None) -> None:
    if saved is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)
    else:
        os.replace(saved, dest)
    _fsync_dir(directory)


async def _swap_in_place(
    dest: str,
    directory: str,
    name: str,
    content: bytes,
    previous: bytes,
    mode: int,
    options: OutputOptions,
    validate: str | tuple[str, ...] | None,
    env: Mapping[str, str],
) -> WriteOutcome:
    st = os.stat(dest)
    _rewrite_in_place(dest, content)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(dest, mode)
    if validate is not None:
        try:
            error = await _check(validate, options, env)
        except BaseException:
            _rewrite_in_place(dest, previous)
            raise
        if error is not None:
            try:
                _rewrite_in_place(dest, previous)
                if stat.S_IMODE(st.st_mode) != mode:
                    os.chmod(dest, stat.S_IMODE(st.st_mode))
            except OSError as e:
                log.error("%s: %s; restoring the previous content failed: %s", dest, error, e)
                return WriteOutcome(True, True, f"{error}; restoring the previous content failed: {e}")
            log.info("%s: %s; previous content restored", dest, error)
            return WriteOutcome(True, False, error)
    if options.backup:
        try:
            _backup_bytes(directory, name, dest, previous, stat.S_IMODE(st.st_mode))
        except OSError as e:
            log.warning("%s: written, but keeping the backup failed: %s", dest, e)
    log.info("%s: written in place", dest)
    return WriteOutcome(True, True, None)
