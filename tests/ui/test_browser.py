"""The web UI in a real headless Chromium against a real `proconsul agent -dev -ui` process.

Only the UI's DOM contract is relied on (data-* attributes, ids and hash routes), never its markup
otherwise. Every step that matters leaves a screenshot in $PROCONSUL_TEST_OUTPUT/ui (else
test-output/ui), and a failing test leaves one of each of its pages plus the browser console."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.conftest import AgentProcess
from tests.ui.browser import Api, Shots, eventually, exact, find_chromium, number

if find_chromium() is None:
    pytest.skip("no system Chromium (install the Debian package `chromium`)", allow_module_level=True)

pytestmark = pytest.mark.integration

NODE = "proc1"  # AgentProcess's default -node
STATUSES = ("passing", "warning", "critical")

ACTIVE_ELEMENT = """() => {
  const e = document.activeElement;
  return e ? {tag: e.tagName, id: e.id, nav: e.getAttribute("data-nav")} : null;
}"""


# -- scenario data


def seed_services(consul: Api) -> dict[str, str]:
    """web x2 (passing + warning) and db x1 (critical); returns the TTL check IDs by instance."""
    checks = {
        "web1": consul.register(
            "web1",
            "web",
            address="10.0.0.1",
            port=8080,
            tags=["v1", "primary"],
            meta={"version": "1.2"},
            notes="primary replica",
        ),
        "web2": consul.register("web2", "web", address="10.0.0.2", port=8081, tags=["v2"]),
        "db1": consul.register("db1", "db", address="10.0.0.3", port=5432, tags=["sql"]),
    }
    consul.set_check(checks["web1"], "passing")
    consul.set_check(checks["web2"], "warning")
    consul.set_check(checks["db1"], "critical")
    return checks


# -- page helpers


def open_ui(page: Page, route: str) -> None:
    page.goto(f"/ui/#{route}")


def service_row(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="services"] [data-service="{name}"]')


def kv_entry(page: Page, key: str) -> Locator:
    return page.locator(f'[data-testid="kv"] [data-key="{key}"]')


def expect_counts(row: Locator, counts: dict[str, int]) -> None:
    """The row's non-zero check counts (a zero may be shown as 0, blank or not at all)."""
    for status in STATUSES:
        if counts.get(status):
            expect(row.locator(f".{status}-count")).to_have_text(number(counts[status]))


def expect_tags(scope: Locator, tags: list[str]) -> None:
    for tag in tags:
        expect(scope.locator(".tag", has_text=exact(tag)).first).to_be_visible()


def open_entry(page: Page, key: str) -> None:
    """Clicks a KV listing entry (its link when it has one)."""
    entry = kv_entry(page, key)
    expect(entry).to_be_visible()
    link = entry.locator("a")
    (link.first if link.count() else entry).click()


def accept_dialogs(page: Page, seen: list[str]) -> None:
    def accept(dialog: Any) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", accept)


# -- 1. services list


def test_services_list_counts_tags_and_filters(page: Page, consul: Api, shot: Shots) -> None:
    seed_services(consul)
    page.goto("/")  # `/` redirects to the UI, whose default route is the services list
    expect(page).to_have_url(re.compile(r"/ui/(#/services)?$"))
    expect(page.locator('[data-testid="services"]')).to_be_visible()

    web, db, agent_service = service_row(page, "web"), service_row(page, "db"), service_row(page, "consul")
    expect(web).to_have_attribute("data-state", "warning")
    expect(db).to_have_attribute("data-state", "critical")
    expect(agent_service).to_have_attribute("data-state", "passing")
    expect(web.locator(".instances")).to_have_text(number(2))
    expect(db.locator(".instances")).to_have_text(number(1))
    expect(web.locator(".warning-count")).to_have_text(number(1))
    expect(db.locator(".critical-count")).to_have_text(number(1))
    expect_counts(web, consul.check_counts("web"))
    expect_counts(db, consul.check_counts("db"))
    expect_tags(web, ["v1", "primary", "v2"])
    expect_tags(db, ["sql"])
    expect(web.locator('a[href="#/services/web"]')).to_be_visible()
    shot(page, "list")

    page.fill("input#filter", "web")  # by name
    expect(web).to_be_visible()
    expect(db).to_be_hidden()
    expect(agent_service).to_be_hidden()
    shot(page, "filter-name-web")

    page.fill("input#filter", "sql")  # by tag
    expect(db).to_be_visible()
    expect(web).to_be_hidden()
    expect(agent_service).to_be_hidden()
    shot(page, "filter-tag-sql")

    page.fill("input#filter", "")
    expect(web).to_be_visible()
    expect(db).to_be_visible()

    health = page.locator("select#health-filter")
    health.select_option("critical")
    expect(db).to_be_visible()
    expect(web).to_be_hidden()
    expect(agent_service).to_be_hidden()
    shot(page, "health-critical")

    health.select_option("warning")
    expect(web).to_be_visible()
    expect(db).to_be_hidden()
    expect(agent_service).to_be_hidden()

    health.select_option("passing")
    expect(agent_service).to_be_visible()
    shot(page, "health-passing")

    health.select_option("all")
    for row in (web, db, agent_service):
        expect(row).to_be_visible()


# -- 2. live updates


def test_services_list_updates_live(page: Page, consul: Api, shot: Shots) -> None:
    checks = seed_services(consul)
    open_ui(page, "/services")
    web = service_row(page, "web")
    expect(web).to_have_attribute("data-state", "warning")
    expect_counts(web, consul.check_counts("web"))
    critical_before = web.locator(".critical-count")
    if critical_before.count():  # shown as a number or blank; it must go up by one
        expect(critical_before).not_to_have_text(number(1))
    page.evaluate("window.__marker = 1")
    shot(page, "before")

    consul.set_check(checks["web1"], "critical")
    counts = consul.check_counts("web")
    assert counts["critical"] == 1

    expect(web).to_have_attribute("data-state", "critical")
    expect(web.locator(".critical-count")).to_have_text(number(1))
    expect_counts(web, counts)
    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of updating in place"
    shot(page, "after-fail")


# -- 3. service detail


def test_service_detail(page: Page, consul: Api, shot: Shots) -> None:
    checks = seed_services(consul)
    consul.set_check(checks["web1"], "warning", output="disk 91%")
    open_ui(page, "/services")
    service_row(page, "web").locator('a[href="#/services/web"]').click()
    expect(page).to_have_url(re.compile(r"#/services/web$"))
    expect(page.locator("h1")).to_contain_text("web")

    web1, web2 = page.locator('[data-instance="web1"]'), page.locator('[data-instance="web2"]')
    expect(web1).to_have_attribute("data-state", "warning")
    expect(web2).to_have_attribute("data-state", "warning")
    expect(page.locator('[data-instance="db1"]')).to_have_count(0)
    expect(web1.locator(".node")).to_contain_text(NODE)
    expect(web1.locator(".address")).to_have_text(exact("10.0.0.1:8080"))
    expect(web2.locator(".address")).to_have_text(exact("10.0.0.2:8081"))
    expect_tags(web1, ["v1", "primary"])
    expect_tags(web2, ["v2"])
    expect(web1.locator(".meta")).to_contain_text("version")
    expect(web1.locator(".meta")).to_contain_text("1.2")

    check = web1.locator(f'[data-check="{checks["web1"]}"]')
    expect(check).to_have_attribute("data-state", "warning")
    expect(check.locator(".check-name")).to_contain_text("web1 heartbeat")
    expect(check.locator(".check-output")).to_contain_text("disk 91%")
    expect(check.locator(".check-notes")).to_contain_text("primary replica")
    shot(page, "detail")

    # the detail page follows changes too
    consul.set_check(checks["web2"], "critical", output="connection refused")
    check2 = web2.locator(f'[data-check="{checks["web2"]}"]')
    expect(check2).to_have_attribute("data-state", "critical")
    expect(check2.locator(".check-output")).to_contain_text("connection refused")
    expect(web2).to_have_attribute("data-state", "critical")
    shot(page, "detail-live")


# -- 4. nodes


def test_nodes_list_and_detail(page: Page, consul: Api, shot: Shots) -> None:
    checks = seed_services(consul)
    for check_id in checks.values():
        consul.set_check(check_id, "passing")
    session = consul.put("/v1/session/create", {"Node": NODE, "Name": "locker"})["ID"]

    open_ui(page, "/nodes")
    node = page.locator(f'[data-testid="nodes"] [data-node="{NODE}"]')
    expect(node).to_have_attribute("data-state", "passing")
    shot(page, "list")

    open_ui(page, f"/nodes/{NODE}")
    for service_id in ("web1", "web2", "db1"):
        expect(page.locator(f'[data-service-instance="{service_id}"]')).to_be_visible()
    expect(page.locator('[data-check="serfHealth"]')).to_have_attribute("data-state", "passing")
    expect(page.locator(f'[data-check="{checks["db1"]}"]')).to_have_attribute("data-state", "passing")
    sess = page.locator(f'[data-session="{session}"]')
    expect(sess).to_be_visible()
    expect(sess).to_contain_text("locker")
    shot(page, "detail")


# -- 5. KV create / browse / edit / delete


def test_kv_create_browse_edit_delete(page: Page, consul: Api, shot: Shots) -> None:
    key = "app/config/db"
    dialogs: list[str] = []
    accept_dialogs(page, dialogs)

    open_ui(page, "/kv/")
    expect(page.locator('[data-testid="kv"]')).to_be_visible()
    page.click("button#kv-create")
    editor = page.locator("form#kv-editor")
    expect(editor).to_be_visible()
    page.fill("input#kv-key", key)
    page.fill("textarea#kv-value", "host=db1\nport=5432")
    page.fill("input#kv-flags", "42")
    shot(page, "create-filled")
    page.click("button#kv-save")
    expect(page.locator("#message")).to_contain_text(f"Saved {key}")
    shot(page, "created")
    entry = consul.kv_get(key)
    assert entry is not None, "the UI said Saved but the key does not exist"
    assert entry["Value"] == "host=db1\nport=5432"
    assert entry["Flags"] == 42

    # browse to it folder by folder
    open_ui(page, "/kv/")
    open_entry(page, "app/")
    expect(page).to_have_url(re.compile(r"#/kv/app/$"))
    open_entry(page, "app/config/")
    expect(page).to_have_url(re.compile(r"#/kv/app/config/$"))
    expect(page.locator("nav#kv-crumbs")).to_contain_text("app")
    expect(page.locator("nav#kv-crumbs")).to_contain_text("config")
    expect(kv_entry(page, key)).to_be_visible()
    shot(page, "folder-app-config")

    # edit
    open_entry(page, key)
    expect(page.locator("textarea#kv-value")).to_have_value("host=db1\nport=5432")
    expect(page.locator("input#kv-flags")).to_have_value("42")
    page.fill("textarea#kv-value", "host=db2\nport=5433")
    page.click("button#kv-save")
    expect(page.locator("#message")).to_contain_text(f"Saved {key}")
    shot(page, "edited")
    entry = consul.kv_get(key)
    assert entry is not None
    assert entry["Value"] == "host=db2\nport=5433"
    assert entry["Flags"] == 42

    # delete, through the native confirm()
    page.click("button#kv-delete")
    eventually(lambda: consul.kv_get(key) is None, f"{key} to be deleted")
    assert dialogs, "the delete did not ask for confirmation"
    expect(kv_entry(page, key)).to_have_count(0)
    shot(page, "deleted")


# -- 6. CAS conflict


def test_kv_save_conflict_then_reload(page: Page, consul: Api, shot: Shots) -> None:
    key = "app/config/db"
    consul.kv_put(key, "v1")
    open_ui(page, f"/kv/{key}")
    value = page.locator("textarea#kv-value")
    expect(value).to_have_value("v1")
    page.fill("textarea#kv-value", "mine")  # editing while someone else changes the key

    consul.kv_put(key, "v2")
    page.click("button#kv-save")
    message = page.locator('#message[data-kind="error"]')
    expect(message).to_contain_text("changed by someone else")
    reload = page.locator("button#kv-reload")
    expect(reload).to_be_visible()
    shot(page, "conflict")
    entry = consul.kv_get(key)
    assert entry is not None
    assert entry["Value"] == "v2", "the conflicting save overwrote the other writer's value"

    reload.click()
    expect(value).to_have_value("v2")
    shot(page, "reloaded")


# -- 7. agent down


def test_agent_down_banner(page: Page, consul: Api, ui_agent: AgentProcess, shot: Shots) -> None:
    seed_services(consul)
    open_ui(page, "/services")
    expect(service_row(page, "web")).to_be_visible()
    status = page.locator("#status")
    expect(status).not_to_contain_text("Agent unreachable")

    ui_agent.kill()
    expect(status).to_contain_text("Agent unreachable")
    expect(status).to_be_visible()
    shot(page, "agent-down")


# -- 8. phone width


def test_services_list_at_phone_width(open_page: Callable[..., Page], consul: Api, shot: Shots) -> None:
    seed_services(consul)
    consul.register(
        "metrics1",
        "metrics-collector-with-a-long-name",
        address="10.0.0.9",
        port=9100,
        tags=["prometheus", "exporter", "long-tag-for-wrapping"],
    )
    page = open_page(375, 740, mobile=True)
    open_ui(page, "/services")
    for name in ("web", "db", "metrics-collector-with-a-long-name"):
        expect(service_row(page, name)).to_be_visible()
    shot(page, "services")
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width == 375, f"the page lays out at {width}px, not the phone's 375px (viewport meta?)"
    assert scroll_width <= width, f"horizontal scroll at phone width: scrollWidth {scroll_width} > {width}"
    box = service_row(page, "web").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


# -- 9. keyboard


def test_keyboard_reaches_nav_and_filter(page: Page, consul: Api, shot: Shots) -> None:
    seed_services(consul)
    open_ui(page, "/services")
    expect(service_row(page, "db")).to_be_visible()

    # Tab (wrapping round the document as the browser does) until it has been to all three nav links
    # and is on the filter; the UI may put focus in <main> when a view renders, so the filter can
    # come before the nav in this walk.
    wanted = {"nav:services", "nav:nodes", "nav:kv", "filter"}
    walk: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE_ELEMENT) or {}
        walk.append(
            f"nav:{active['nav']}" if active.get("nav") else active.get("id") or active.get("tag", "?")
        )
        if wanted <= set(walk) and walk[-1] == "filter":
            break
    else:
        pytest.fail(f"60 Tabs never reached {sorted(wanted - set(walk))}; focus went {walk}")
    assert walk[0] == "skip-link", f"the first Tab on a fresh page should reach the skip link: {walk}"
    navs = [w for w in walk if w.startswith("nav:")]
    assert navs[:3] == ["nav:services", "nav:nodes", "nav:kv"], f"nav links out of order: {walk}"
    shot(page, "filter-focused")

    page.keyboard.type("db")  # typing goes into the focused filter
    expect(page.locator("input#filter")).to_have_value("db")
    expect(service_row(page, "web")).to_be_hidden()
    expect(service_row(page, "db")).to_be_visible()

    for _ in range(40):  # back to the Nodes link, then follow it with Enter
        page.keyboard.press("Shift+Tab")
        active = page.evaluate(ACTIVE_ELEMENT)
        if active and active["nav"] == "nodes":
            break
    else:
        pytest.fail("Shift+Tab never reached the Nodes nav link")
    shot(page, "nodes-link-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/nodes$"))
    expect(page.locator('[data-testid="nodes"]')).to_be_visible()
