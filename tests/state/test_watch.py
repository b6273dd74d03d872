"""The blocking-query contract and the change notifier behind it."""

from __future__ import annotations

import asyncio

import pytest

from proconsul.state import watch
from proconsul.state.watch import ChangeNotifier, Deps, Versioned, blocking_query, effective_timeout

WEB: watch.Topic = ("service", "web")
DB: watch.Topic = ("service", "db")


class Source:
    """A query result whose index the test moves by hand; counts how often the query ran."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.runs = 0
        self.ran = asyncio.Event()

    def __call__(self) -> Versioned[str]:
        self.runs += 1
        self.ran.set()
        return Versioned(self.index, f"value@{self.index}")

    async def next_run(self) -> None:
        """Returns once the query has run again; it parks in the same step, before this resumes."""
        await self.ran.wait()
        self.ran.clear()


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch.random, "uniform", lambda low, high: low)


# ---- effective_timeout ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wait", "base"),
    [
        (None, 300.0),
        (0.0, 300.0),
        (-5.0, 300.0),
        (0.25, 0.25),
        (10.0, 10.0),
        (600.0, 600.0),
        (601.0, 600.0),
        (86400.0, 600.0),
    ],
)
def test_effective_timeout_clamps_and_adds_up_to_a_sixteenth(
    monkeypatch: pytest.MonkeyPatch, wait: float | None, base: float
) -> None:
    monkeypatch.setattr(watch.random, "uniform", lambda low, high: low)
    assert effective_timeout(wait) == base
    monkeypatch.setattr(watch.random, "uniform", lambda low, high: high)
    assert effective_timeout(wait) == pytest.approx(base + base / 16)


def test_effective_timeout_jitter_stays_in_range() -> None:
    values = [effective_timeout(16.0) for _ in range(200)]
    assert all(16.0 <= v <= 17.0 for v in values)
    assert len(set(values)) > 1  # it is random, not a constant offset


# ---- blocking_query ------------------------------------------------------------------------------
async def test_index_zero_returns_at_once_without_waiting() -> None:
    notifier, source = ChangeNotifier(), Source(7)
    result = await blocking_query(notifier, Deps((WEB,)), 0, 600.0, source)
    assert (result.index, result.value, source.runs) == (7, "value@7", 1)
    assert notifier.waiting_topics == 0


async def test_index_below_current_returns_at_once() -> None:
    notifier, source = ChangeNotifier(), Source(7)
    result = await blocking_query(notifier, Deps((WEB,)), 6, 600.0, source)
    assert result.index == 7
    assert notifier.waiting_topics == 0


@pytest.mark.parametrize("min_index", [0, 5])
async def test_index_is_never_zero(no_jitter: None, min_index: int) -> None:
    result = await blocking_query(ChangeNotifier(), Deps((WEB,)), min_index, 0.01, Source(0))
    assert result.index == 1


@pytest.mark.parametrize("min_index", [7, 9])
async def test_index_at_or_above_current_blocks_until_a_change(min_index: int) -> None:
    notifier, source = ChangeNotifier(), Source(7)
    task = asyncio.create_task(blocking_query(notifier, Deps((WEB,)), min_index, 600.0, source))
    await source.next_run()  # the query ran once and parked on its topic
    assert not task.done()
    assert notifier.waiting_topics == 1
    source.index = min_index + 1
    notifier.notify([WEB])
    result = await task
    assert (result.index, result.value) == (min_index + 1, f"value@{min_index + 1}")
    assert source.runs == 2


async def test_timeout_returns_the_same_index(no_jitter: None) -> None:
    notifier, source = ChangeNotifier(), Source(7)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await blocking_query(notifier, Deps((WEB,)), 7, 0.05, source)
    assert (result.index, result.value) == (7, "value@7")
    assert loop.time() - started >= 0.049  # asyncio may fire a timer up to its clock resolution early
    assert source.runs == 1


async def test_timeout_with_a_future_index_returns_the_current_one(no_jitter: None) -> None:
    result = await blocking_query(ChangeNotifier(), Deps((WEB,)), 100, 0.02, Source(7))
    assert result.index == 7


async def test_wake_without_index_change_keeps_waiting() -> None:
    notifier, source = ChangeNotifier(), Source(7)
    task = asyncio.create_task(blocking_query(notifier, Deps((WEB,)), 7, 600.0, source))
    await source.next_run()
    notifier.notify([WEB])  # an idempotent write: woken, re-run, same index
    await source.next_run()
    assert not task.done()
    assert source.runs == 2
    assert notifier.waiting_topics == 1  # parked again on a fresh future
    source.index = 8
    notifier.notify([WEB])
    assert (await task).index == 8


async def test_change_to_another_topic_does_not_wake() -> None:
    notifier, source = ChangeNotifier(), Source(7)
    task = asyncio.create_task(blocking_query(notifier, Deps((WEB,)), 7, 600.0, source))
    await source.next_run()
    notifier.notify([DB], ["web"])
    done, _ = await asyncio.wait({task}, timeout=0.05)
    assert not done
    assert source.runs == 1
    source.index = 9
    notifier.notify([WEB])
    assert (await task).index == 9


async def test_kv_prefix_dependency_wakes_on_a_key_below_it() -> None:
    notifier, source = ChangeNotifier(), Source(3)
    task = asyncio.create_task(blocking_query(notifier, Deps(kv_prefixes=("app/",)), 3, 600.0, source))
    await source.next_run()
    source.index = 4
    notifier.notify([], ["app/db/url"])
    assert (await task).index == 4


async def test_cancelled_waiter_leaves_the_notifier_usable() -> None:
    notifier, source = ChangeNotifier(), Source(1)
    gone = asyncio.create_task(blocking_query(notifier, Deps((WEB,)), 1, 600.0, source))
    await source.next_run()
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    stays = asyncio.create_task(blocking_query(notifier, Deps((WEB,)), 1, 600.0, source))
    await source.next_run()
    source.index = 2
    notifier.notify([WEB])
    assert (await stays).index == 2


# ---- ChangeNotifier ------------------------------------------------------------------------------
async def test_a_change_wakes_every_waiter_on_the_topic_and_unpark_forgets_them() -> None:
    notifier = ChangeNotifier()
    both, web_only, db_only = Deps((WEB, DB)), Deps((WEB,)), Deps((DB,))
    first, second, third = notifier.park(both), notifier.park(web_only), notifier.park(db_only)
    assert notifier.parked == 3 and notifier.waiting_topics == 2
    notifier.notify([WEB])
    assert first.done() and second.done() and not third.done()
    notifier.unpark(both, first)
    notifier.unpark(web_only, second)
    assert notifier.parked == 1 and notifier.waiting_topics == 1  # `first` left DB's set as well
    notifier.unpark(db_only, third)
    assert notifier.waiting_topics == 0


async def test_waiters_with_deadlines_in_one_tick_share_one_timer() -> None:
    notifier = ChangeNotifier()
    loop = asyncio.get_running_loop()
    deadline = (int(loop.time() / notifier.TICK) + 2) * notifier.TICK - 0.01
    waiters = [notifier.park(Deps((WEB,)), deadline - i * 0.001) for i in range(50)]
    assert len(notifier._timers) == 1
    assert await asyncio.gather(*waiters) == [True] * 50  # EXPIRED
    assert loop.time() >= deadline
    for i, waiter in enumerate(waiters):
        notifier.unpark(Deps((WEB,)), waiter, deadline - i * 0.001)
    assert notifier.parked == 0 and not notifier._timers


async def test_notify_without_waiters_is_a_no_op() -> None:
    notifier = ChangeNotifier()
    notifier.notify([WEB], ["a/b"])
    assert notifier.waiting_topics == 0


@pytest.mark.parametrize(
    ("changed_key", "woken"),
    [
        ("app/db/url", {"", "app", "app/", "app/db/", "app/db/url"}),
        ("app/", {"", "app", "app/"}),
        ("application", {"", "app"}),
        ("other/x", {""}),
    ],
)
async def test_kv_key_wakes_exactly_the_prefixes_it_is_under(changed_key: str, woken: set[str]) -> None:
    prefixes = ["", "app", "app/", "app/db/", "app/db/url", "app/web/", "other/y"]
    notifier = ChangeNotifier()
    futs = {p: notifier.park(Deps(kv_prefixes=(p,))) for p in prefixes}
    notifier.notify([], [changed_key])
    assert {p for p, f in futs.items() if f.done()} == woken  # string prefixes, as Consul's KV has
