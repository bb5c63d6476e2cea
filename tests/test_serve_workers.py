"""``workstation serve --workers N``: several server processes on one port, one set of limits and one cache."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import article_report
from workstation.serve.limits import SharedRateLimiter
from workstation.serve.workers import SharedGeneration
from workstation.services import tokens
from workstation.services.reports import add_report

COMMAND = [sys.executable, "-m", "workstation", "serve"]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _workers(pid: int, count: int = 2) -> set[int]:
    """The parent's worker processes, once all have started."""
    deadline = time.monotonic() + 20
    while len(_children(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    found = _children(pid)
    assert len(found) == count
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{pid}").exists() else ""
    return status not in ("Z", "")


def _in_children(work, count: int) -> None:
    """Run ``work`` in ``count`` forked processes at once; each must end well."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                work()
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0


def test_a_shared_rate_limit_holds_across_processes():
    limiter = SharedRateLimiter(rate=10, window_s=3600)
    allowed = SharedRateLimiter(rate=1_000, window_s=3600)  # its buckets count what each child was allowed

    def work() -> None:
        for _ in range(8):
            if limiter.take("key-a") == 0:
                allowed.take("allowed")

    _in_children(work, 3)  # 24 attempts over 3 processes against one limit of 10
    assert allowed.take("allowed") == 0
    spent = (
        1_000
        - 1
        - sum(  # read back how many the children took from the counting bucket
            allowed._tokens[i] for i in range(allowed.slots) if allowed._keys[i] != 0
        )
    )
    assert round(spent) == 10
    assert limiter.take("key-a") > 0  # the key is spent here too
    assert limiter.take("key-b") == 0  # another key has its own limit


def test_a_shared_limiter_forgets_idle_keys_instead_of_filling_up():
    now = [0.0]
    limiter = SharedRateLimiter(rate=2, window_s=1, clock=lambda: now[0], slots=64)
    for n in range(1_000):  # far more keys than slots: a full bucket's slot is reused
        now[0] += 1.0
        assert limiter.take(f"address-{n}") == 0
    assert limiter.take("busy") == 0 and limiter.take("busy") == 0
    assert limiter.take("busy") > 0


def test_a_post_in_one_process_makes_every_process_read_again():
    generation = SharedGeneration()
    before = generation.get()
    _in_children(generation.bump, 2)
    assert generation.get() == before + 2


@pytest.fixture
def serving(db, db_url, users, tmp_path):
    """``workstation serve --workers 2`` as a user starts it, with small limits.

    Yields the base URL, the process and the file its standard error goes to.
    """
    _, admin_token = tokens.add_token(db, users["admin"], "admin", "serve")
    settings = tmp_path / "intake.json"
    settings.write_text(
        json.dumps({"serve": {"rate_per_key": 3, "rate_per_address": 40, "rate_window_s": 3600, "cache_s": 60}})
    )
    err = tmp_path / "stderr.txt"
    env = {**os.environ, "WORKSTATION_LANG": "zh_CN", "PYTHONUNBUFFERED": "1", "WORKSTATION_TOKEN": admin_token}
    with err.open("w") as stderr:
        proc = subprocess.Popen(
            [*COMMAND, "--db", db_url, "--port", "0", "--workers", "2", "--config", str(settings)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    try:
        line = proc.stdout.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert port, (line, err.read_text())
        yield f"http://127.0.0.1:{port.group(1)}", proc, err
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def test_two_workers_answer_share_one_rate_limit_and_one_cache_and_sigterm_stops_all(db, users, serving):
    base, proc, err = serving
    _, key = tokens.add_token(db, users["admin"], "op2", "wechat app")
    add_report(db, article_report(external_id="W1"))
    workers = _workers(proc.pid)
    # each request on a new connection, so either worker may take it; every worker keeps answers (cache_s 60)
    firsts = [requests.get(f"{base}/requests.json", timeout=5).json() for _ in range(8)]
    assert all(len(f) == 1 for f in firsts)
    form = {"api_key": key, "service_code": "0105", "lat": "31.74", "long": "117.29"}
    codes = [requests.post(f"{base}/requests.json", data=form, timeout=5).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]  # one limit per key, whichever worker took each post
    for _ in range(8):  # a post through any worker: no worker answers from before it
        assert len(requests.get(f"{base}/requests.json", timeout=5).json()) == 4
    # the address has spent 8 + 4 + 8 = 20 of its 40: 20 more, then 429 from every worker
    statuses = [requests.get(f"{base}/services.json", timeout=5).status_code for _ in range(22)]
    assert statuses.count(200) == 20 and statuses[-2:] == [429, 429]
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "服务已停止" in stdout
    assert not any(_alive(pid) for pid in workers)
    lines = [ln for ln in err.read_text().splitlines() if "workstation.serve" in ln and " /" in ln]
    assert len(lines) == 8 + 4 + 8 + 22  # one line per request, none lost or doubled
    served_by = {int(m.group(1)) for ln in lines if (m := re.search(r"\[(\d+)\]", ln))}
    assert served_by <= workers and served_by
    assert key not in err.read_text()


def test_ctrl_c_stops_the_workers_too(serving):
    base, proc, _ = serving
    assert requests.get(f"{base}/services.json", timeout=5).status_code == 200
    workers = _workers(proc.pid)
    for pid in [proc.pid, *workers]:  # Ctrl+C: the terminal signals the parent and every child
        os.kill(pid, signal.SIGINT)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "服务已停止" in stdout
    assert not any(_alive(pid) for pid in workers)


def test_workers_must_be_at_least_one_and_a_port_in_use_is_refused_in_a_sentence(db_url, users, capsys):
    import socket

    from tests.conftest import run_cli

    assert run_cli(["serve", "--as", "admin", "--port", "0", "--workers", "0", "--db", db_url]) == 1
    assert "--workers" in capsys.readouterr().err
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        assert run_cli(["serve", "--as", "admin", "--port", port, "--workers", "2", "--db", db_url]) == 1
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_workers_stop_when_their_parent_is_killed_outright(serving):
    base, proc, _ = serving
    assert requests.get(f"{base}/services.json", timeout=5).status_code == 200
    workers = _workers(proc.pid)
    proc.kill()  # SIGKILL: the parent cannot pass anything on
    proc.wait(10)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
