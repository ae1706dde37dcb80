"""Threads recording at once, and processes forked after import."""

from __future__ import annotations

import threading

from conftest import clean_env, read_events, run_python


def test_threads_recording_at_once_lose_nothing(manager, log_path):
    threads_n, blocks = 8, 40
    barrier = threading.Barrier(threads_n)

    def work(i):
        barrier.wait()
        for _ in range(blocks):
            with manager.track_command("analyze.contracts") as record:
                record({"files_analyzed": i})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    events = read_events(log_path)
    assert len(events) == threads_n * blocks
    assert len({e["event_id"] for e in events}) == len(events)
    assert sorted({e["files_analyzed"] for e in events}) == list(range(threads_n))


FORK = """
import json, os, sys, multiprocessing
import specfact_telemetry.compat as c

log = os.path.expanduser("~/.specfact/telemetry.log")

def child_work(n):
    with c.telemetry.track_command("repro.run") as record:
        record({"checks_total": n})

# A block the parent is inside when it forks: the child leaves it too, but must not record it.
with c.telemetry.track_command("plan.init") as record:
    pid = os.fork()
    if pid == 0:
        record({"mode": "child"})
    else:
        record({"mode": "parent"})
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)

# multiprocessing with the fork start method, after import.
ctx = multiprocessing.get_context("fork")
with ctx.Pool(3) as pool:
    pool.map(child_work, range(6))

events = [json.loads(l) for l in open(log)]
print(json.dumps([[e["command"], e.get("mode"), e.get("checks_total")] for e in events]))
"""


def test_a_fork_after_import_neither_deadlocks_nor_records_twice(home):
    done = run_python(FORK, clean_env(home, SPECFACT_TELEMETRY_OPT_IN="true"), timeout=60)
    assert done.returncode == 0, done.stderr
    import json

    events = json.loads(done.stdout)
    assert events.count(["plan.init", "parent", None]) == 1
    assert ["plan.init", "child", None] not in events
    assert sorted(e[2] for e in events if e[0] == "repro.run") == list(range(6))
    assert len(events) == 7
