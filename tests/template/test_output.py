"""write_output: atomic replace, in-place, backup, and validation before or after the swap."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

from proconsul.template.output import (
    OutputOptions,
    WriteOutcome,
    has_placeholder,
    substitute_src,
    write_output,
)

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
NGINX = "/usr/sbin/nginx"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_identical_content_touches_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"same\n")
    os.utime(dest, ns=(1_000_000_000, 1_000_000_000))
    before = dest.stat()
    outcome = await write_output(
        str(dest), b"same\n", OutputOptions(perms=0o600, backup=True, validate="exit 1"), ENV
    )
    assert outcome == WriteOutcome(False, False, None)
    after = dest.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_mode,
    )
    assert listing(tmp_path) == ["out.conf"]


async def test_new_file_gets_0644(tmp_path: Path) -> None:
    dest = tmp_path / "new.conf"
    outcome = await write_output(str(dest), b"hello\n", OutputOptions(), ENV)
    assert outcome == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"hello\n"
    assert mode_of(dest) == 0o644
    assert listing(tmp_path) == ["new.conf"]


async def test_changed_content_is_renamed_into_place_keeping_the_mode(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"old\n")
    dest.chmod(0o600)
    inode = dest.stat().st_ino
    outcome = await write_output(str(dest), b"new\n", OutputOptions(), ENV)
    assert outcome == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"new\n"
    assert dest.stat().st_ino != inode
    assert mode_of(dest) == 0o600
    assert listing(tmp_path) == ["out.conf"]


async def test_perms_are_applied(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"old\n")
    dest.chmod(0o644)
    assert (await write_output(str(dest), b"new\n", OutputOptions(perms=0o640), ENV)).written
    assert mode_of(dest) == 0o640
    fresh = tmp_path / "fresh.conf"
    assert (await write_output(str(fresh), b"x", OutputOptions(perms=0o600), ENV)).written
    assert mode_of(fresh) == 0o600


async def test_in_place_keeps_the_inode(tmp_path: Path) -> None:
    dest = tmp_path / "mounted.conf"
    dest.write_bytes(b"a much longer previous content\n")
    dest.chmod(0o640)
    inode = dest.stat().st_ino
    outcome = await write_output(str(dest), b"short\n", OutputOptions(in_place=True), ENV)
    assert outcome == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"short\n"
    assert dest.stat().st_ino == inode
    assert mode_of(dest) == 0o640
    assert listing(tmp_path) == ["mounted.conf"]

    assert (await write_output(str(dest), b"perms\n", OutputOptions(in_place=True, perms=0o600), ENV)).written
    assert dest.stat().st_ino == inode
    assert mode_of(dest) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
async def test_owner_is_kept_when_root(tmp_path: Path) -> None:
    dest = tmp_path / "owned.conf"
    dest.write_bytes(b"old\n")
    os.chown(dest, 4321, 4322)
    assert (await write_output(str(dest), b"new\n", OutputOptions(), ENV)).written
    st = dest.stat()
    assert (st.st_uid, st.st_gid) == (4321, 4322)


async def test_in_place_for_a_new_file_just_creates_it(tmp_path: Path) -> None:
    dest = tmp_path / "new.conf"
    assert (await write_output(str(dest), b"x\n", OutputOptions(in_place=True), ENV)).written
    assert dest.read_bytes() == b"x\n"
    assert listing(tmp_path) == ["new.conf"]


async def test_backup_keeps_exactly_one_previous_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    bak = tmp_path / "out.conf.bak"
    options = OutputOptions(backup=True)
    assert (await write_output(str(dest), b"v1\n", options, ENV)).written
    assert not bak.exists()  # nothing to back up for a new file
    inode_v1 = dest.stat().st_ino
    assert (await write_output(str(dest), b"v2\n", options, ENV)).written
    assert bak.read_bytes() == b"v1\n"
    assert bak.stat().st_ino == inode_v1  # a hard link to the previous file, as consul-template does
    assert (await write_output(str(dest), b"v3\n", options, ENV)).written
    assert bak.read_bytes() == b"v2\n"
    assert dest.read_bytes() == b"v3\n"
    assert listing(tmp_path) == ["out.conf", "out.conf.bak"]


async def test_backup_in_place(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"v1\n")
    inode = dest.stat().st_ino
    assert (await write_output(str(dest), b"v2\n", OutputOptions(backup=True, in_place=True), ENV)).written
    assert dest.stat().st_ino == inode
    assert dest.read_bytes() == b"v2\n"
    assert (tmp_path / "out.conf.bak").read_bytes() == b"v1\n"
    assert listing(tmp_path) == ["out.conf", "out.conf.bak"]


async def test_create_dirs(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "out.conf"
    assert (await write_output(str(dest), b"x\n", OutputOptions(), ENV)).written
    assert dest.read_bytes() == b"x\n"

    other = tmp_path / "missing" / "out.conf"
    outcome = await write_output(str(other), b"x\n", OutputOptions(create_dirs=False), ENV)
    assert outcome.changed and not outcome.written
    assert outcome.error is not None and "does not exist" in outcome.error
    assert not (tmp_path / "missing").exists()


async def test_os_errors_are_reported_not_raised(tmp_path: Path) -> None:
    dest = tmp_path / "is-a-dir"
    dest.mkdir()
    outcome = await write_output(str(dest), b"x", OutputOptions(), ENV)
    assert outcome.changed and not outcome.written
    assert outcome.error is not None and str(dest) in outcome.error

    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    outcome = await write_output(str(blocker / "sub" / "out"), b"x", OutputOptions(), ENV)
    assert not outcome.written and outcome.error is not None
    assert listing(tmp_path) == ["file", "is-a-dir"]


def test_placeholder_substitution() -> None:
    assert has_placeholder("nginx -t -c {{.src}}")
    assert has_placeholder(("nginx", "-c", "{{ .src }}"))
    assert not has_placeholder("nginx -t")
    assert (
        substitute_src("check {{.src}} && check {{ .src }}", "/a b/f") == "check '/a b/f' && check '/a b/f'"
    )
    assert substitute_src(("check", "--file={{.src}}"), "/a b/f") == ("check", "--file=/a b/f")


async def test_validate_with_placeholder_failing_leaves_the_destination_alone(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"good\n")
    inode = dest.stat().st_ino
    seen = tmp_path / "seen"
    check = f"cp {{{{.src}}}} {seen}; grep -q good {{{{ .src }}}} || {{ echo 'bad config' >&2; exit 1; }}"
    outcome = await write_output(str(dest), b"broken\n", OutputOptions(validate=check, backup=True), ENV)
    assert outcome.changed and not outcome.written
    assert outcome.error is not None and "bad config" in outcome.error
    assert seen.read_bytes() == b"broken\n"  # the check saw the staged content
    assert dest.read_bytes() == b"good\n"
    assert dest.stat().st_ino == inode
    assert listing(tmp_path) == ["out.conf", "seen"]  # no temp file, no backup


async def test_validate_with_placeholder_failing_for_a_new_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    outcome = await write_output(str(dest), b"x", OutputOptions(validate=("false", "{{.src}}")), ENV)
    assert not outcome.written and outcome.error is not None
    assert listing(tmp_path) == []


async def test_validate_with_placeholder_passing(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"old\n")
    dest.chmod(0o600)
    options = OutputOptions(validate=("grep", "-q", "new", "{{.src}}"))
    assert await write_output(str(dest), b"new\n", options, ENV) == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"new\n"
    assert mode_of(dest) == 0o600
    assert listing(tmp_path) == ["out.conf"]


async def test_validate_with_placeholder_in_place(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"good\n")
    inode = dest.stat().st_ino
    options = OutputOptions(in_place=True, validate="grep -q good {{.src}}")
    outcome = await write_output(str(dest), b"bad\n", options, ENV)
    assert not outcome.written and outcome.error is not None
    assert dest.read_bytes() == b"good\n"
    assert await write_output(str(dest), b"good too\n", options, ENV) == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"good too\n"
    assert dest.stat().st_ino == inode
    assert listing(tmp_path) == ["out.conf"]


async def test_validate_without_placeholder_failing_restores_the_previous_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"good\n")
    dest.chmod(0o640)
    inode = dest.stat().st_ino
    # The check reads the destination itself, as `nginx -t` reads the main config that includes it.
    check = f"grep -q good {dest} || {{ echo 'test failed' >&2; exit 1; }}"
    outcome = await write_output(str(dest), b"broken\n", OutputOptions(validate=check, backup=True), ENV)
    assert outcome.changed and not outcome.written
    assert outcome.error is not None and "test failed" in outcome.error
    assert dest.read_bytes() == b"good\n"
    assert dest.stat().st_ino == inode  # the very same file, renamed back
    assert mode_of(dest) == 0o640
    assert listing(tmp_path) == ["out.conf"]


async def test_validate_without_placeholder_failing_removes_a_new_file(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    seen = tmp_path / "seen"
    outcome = await write_output(
        str(dest), b"broken\n", OutputOptions(validate=f"cp {dest} {seen}; false"), ENV
    )
    assert not outcome.written and outcome.error is not None
    assert seen.read_bytes() == b"broken\n"  # the check ran with the new file in place
    assert listing(tmp_path) == ["seen"]


async def test_validate_without_placeholder_in_place(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"good\n")
    inode = dest.stat().st_ino
    options = OutputOptions(in_place=True, validate=f"grep -q good {dest}", backup=True)
    outcome = await write_output(str(dest), b"bad\n", options, ENV)
    assert not outcome.written and outcome.error is not None
    assert dest.read_bytes() == b"good\n"
    assert listing(tmp_path) == ["out.conf"]
    assert await write_output(str(dest), b"good 2\n", options, ENV) == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"good 2\n"
    assert dest.stat().st_ino == inode
    assert (tmp_path / "out.conf.bak").read_bytes() == b"good\n"


async def test_validate_without_placeholder_passing(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"v1\n")
    options = OutputOptions(validate=f"grep -q v2 {dest}", backup=True)
    assert await write_output(str(dest), b"v2\n", options, ENV) == WriteOutcome(True, True, None)
    assert dest.read_bytes() == b"v2\n"
    assert (tmp_path / "out.conf.bak").read_bytes() == b"v1\n"
    assert listing(tmp_path) == ["out.conf", "out.conf.bak"]


async def test_validation_timeout_is_a_failure(tmp_path: Path) -> None:
    dest = tmp_path / "out.conf"
    dest.write_bytes(b"old\n")
    options = OutputOptions(validate="sleep 30", validate_timeout=0.3)
    outcome = await write_output(str(dest), b"new\n", options, ENV)
    assert not outcome.written
    assert outcome.error is not None and "time limit" in outcome.error
    assert dest.read_bytes() == b"old\n"
    assert listing(tmp_path) == ["out.conf"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_conf(prefix: Path, upstream_body: str, port: int) -> str:
    temp = " ".join(
        f"{kind}_temp_path {prefix}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""\
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{}}
http {{
    access_log off;
    {temp}
    upstream app {{
{upstream_body}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://app; }}
    }}
}}
"""


@pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed")
async def test_nginx_validates_the_staged_config(tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    dest = prefix / "nginx.conf"
    port = free_port()
    good = nginx_conf(prefix, f"        server 127.0.0.1:{free_port()};", port).encode()
    empty = nginx_conf(prefix, "", port).encode()  # the classic: no servers are inside upstream
    options = OutputOptions(validate=(NGINX, "-t", "-q", "-p", str(prefix), "-c", "{{.src}}"))

    assert await write_output(str(dest), good, options, ENV) == WriteOutcome(True, True, None)
    outcome = await write_output(str(dest), empty, options, ENV)
    assert outcome.changed and not outcome.written
    assert outcome.error is not None and "no servers are inside upstream" in outcome.error
    assert dest.read_bytes() == good
    assert not [name for name in listing(prefix) if name.startswith(".")]


@pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed")
async def test_nginx_test_of_the_including_config_restores_the_fragment(tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    (prefix / "conf.d").mkdir(parents=True)
    main = prefix / "nginx.conf"
    main.write_text(nginx_conf(prefix, f"        include {prefix}/conf.d/upstream.conf;", free_port()))
    dest = prefix / "conf.d" / "upstream.conf"
    options = OutputOptions(validate=f"{shutil.which('nginx') or NGINX} -t -q -p {prefix} -c {main}")

    good = f"server 127.0.0.1:{free_port()};\n".encode()
    assert await write_output(str(dest), good, options, ENV) == WriteOutcome(True, True, None)
    outcome = await write_output(str(dest), b"", options, ENV)
    assert not outcome.written
    assert outcome.error is not None and "no servers are inside upstream" in outcome.error
    assert dest.read_bytes() == good
    assert listing(prefix / "conf.d") == ["upstream.conf"]

    dest.unlink()
    outcome = await write_output(str(dest), b"bogus_directive on;\n", options, ENV)
    assert not outcome.written and outcome.error is not None
    assert listing(prefix / "conf.d") == []
