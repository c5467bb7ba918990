"""The E2B SDK's synchronous `Sandbox` against sandboxd (see common.py for the conventions)."""

import os
import time

import e2b
from e2b import CommandExitException, Sandbox, SandboxQuery, TimeoutException
from e2b.sandbox.commands.command_handle import PtySize
from e2b.sandbox.filesystem.filesystem import FileType

from common import (
    FILE_NOT_FOUND, HOME, NOT_FOUND, NOT_RUNNING, RUN_ID, VERSION, crashed, selected, expect, http_get, ok, routable, sha, until,
)

print(f"e2b {VERSION} sync", flush=True)


def step(name, fn):
    try:
        fn()
    except SystemExit:
        raise
    except Exception:
        crashed(name)


def pause(sb):
    return sb.pause() if hasattr(sb, "pause") else sb.beta_pause()


meta = {"suite": RUN_ID, "flavour": "sync"}
try:
    sb = Sandbox.create(timeout=300, metadata=meta, envs={"GREETING": "hello"})
    info = sb.get_info()
except Exception:
    crashed("create")
ok("create", sb.sandbox_id)
expect("get_info metadata", info.metadata.get("suite") == RUN_ID, repr(info.metadata))


def commands():
    r = sb.commands.run("echo out; echo err >&2")
    expect("run stdout/stderr/exit", (r.stdout, r.stderr, r.exit_code) == ("out\n", "err\n", 0), repr(r))
    try:
        sb.commands.run("echo bad >&2; exit 3")
        expect("nonzero exit raises", False, "no exception")
    except CommandExitException as e:
        expect("nonzero exit raises CommandExitException", e.exit_code == 3 and "bad" in e.stderr, repr(e))
    r = sb.commands.run("echo $GREETING-$EXTRA", envs={"EXTRA": "x"})
    expect("sandbox and command env", r.stdout == "hello-x\n", repr(r.stdout))
    expect("default cwd is the home", sb.commands.run("pwd").stdout == HOME + "\n")
    expect("cwd", sb.commands.run("pwd", cwd="/tmp").stdout == "/tmp\n")
    start = time.monotonic()
    try:
        sb.commands.run("sleep 30", timeout=2)
        expect("command timeout", False, "no exception")
    except TimeoutException:
        expect("command timeout raises TimeoutException", time.monotonic() - start < 15)


def background():
    h = sb.commands.run("cat", background=True, stdin=True)
    pids = [p.pid for p in sb.commands.list()]
    expect("list shows the background command", h.pid in pids, repr(pids))
    c = sb.commands.connect(h.pid)
    sb.commands.send_stdin(h.pid, "ping\n")
    got = ""
    # Bounded by the connect stream's own 60 s deadline.
    for out, _, _ in c:
        got += out or ""
        if "ping" in got:
            break
    expect("connect + send_stdin", "ping" in got, repr(got))
    expect("kill", sb.commands.kill(h.pid) is True)
    try:
        c.wait()
        expect("killed command", False, "wait returned normally")
    except CommandExitException as e:
        ok("killed command ends with CommandExitException", f"exit {e.exit_code}")
    expect("kill again is False", sb.commands.kill(h.pid) is False)


def pty():
    h = sb.pty.create(PtySize(rows=24, cols=80))
    sb.pty.resize(h.pid, PtySize(rows=33, cols=101))
    sb.pty.send_stdin(h.pid, b"stty size; exit\n")
    out = []
    h.wait(on_pty=out.append)
    text = b"".join(out).decode(errors="replace")
    expect("pty create/resize/send_stdin", "33 101" in text, repr(text[-300:]))
    h2 = sb.pty.create(PtySize(rows=24, cols=80))
    expect("pty kill", sb.pty.kill(h2.pid) is True)


def files():
    w = sb.files.watch_dir(HOME)
    info = sb.files.write("hello.txt", "hi there")
    expect("write (relative path under the home)", info.path == f"{HOME}/hello.txt", repr(info))
    expect("read", sb.files.read("hello.txt") == "hi there")
    names = [e.name for e in sb.files.list(HOME)]
    expect("list", "hello.txt" in names, repr(names))
    expect("exists", sb.files.exists("hello.txt") and not sb.files.exists("nope.txt"))
    gi = sb.files.get_info("hello.txt")
    expect("get_info", gi.type == FileType.FILE and gi.size == 8, repr(gi))
    expect("make_dir", sb.files.make_dir("d") is True and sb.files.make_dir("d") is False)
    moved = sb.files.rename("hello.txt", "d/moved.txt")
    expect("rename", moved.path == f"{HOME}/d/moved.txt" and not sb.files.exists("hello.txt"))
    sb.files.remove("d/moved.txt")
    expect("remove", not sb.files.exists("d/moved.txt"))
    try:
        sb.files.read("d/moved.txt")
        expect("read of a missing file", False, "no exception")
    except FILE_NOT_FOUND:
        ok("read of a missing file raises")
    events = []
    until(
        "watch_dir sees hello.txt",
        lambda: events.extend(w.get_new_events()) or any(e.name == "hello.txt" for e in events),
        15,
    )
    w.stop()
    ok("watch_dir", ", ".join(sorted({f"{e.type.name}:{e.name}" for e in events})))
    data = os.urandom(50 * 1024 * 1024)
    t = time.monotonic()
    sb.files.write("big.bin", data)
    back = sb.files.read("big.bin", format="bytes")
    expect("50 MiB upload + download", sha(bytes(back)) == sha(data), f"{len(back)} bytes back")
    ok("50 MiB round trip time", f"{time.monotonic() - t:.1f}s")


def host():
    sb.commands.run("sandboxd-fixture 8000", background=True)
    h = sb.get_host(8000)
    expect("get_host form", h.startswith(f"8000-{sb.sandbox_id}."), h)
    status, body = until("dev server answers", lambda: (lambda r: r if r[0] == 200 else None)(http_get(h)), 30)
    expect("HTTP GET through get_host", b"8000" in body, repr(body[:200]))


def listing():
    items = Sandbox.list(query=SandboxQuery(metadata={"suite": RUN_ID, "flavour": "sync"})).next_items()
    ids = [i.sandbox_id for i in items]
    expect("list with a metadata filter", sb.sandbox_id in ids, repr(ids))
    other = Sandbox.list(query=SandboxQuery(metadata={"suite": "no-such-run"})).next_items()
    expect("list filter excludes others", all(i.sandbox_id != sb.sandbox_id for i in other))


def pause_connect():
    sb.files.write("keep.txt", "kept")
    pause(sb)
    expect("paused state", sb.get_info().state.value == "paused", repr(sb.get_info().state))
    back = routable(Sandbox.connect(sb.sandbox_id), sb, "connect (note)")
    expect("connect after pause keeps the workspace", back.files.read("keep.txt") == "kept")


def expiry():
    short = Sandbox.create(timeout=300, metadata={"suite": RUN_ID, "flavour": "expiry"})
    short.set_timeout(3)
    end = short.get_info().end_at.timestamp()
    expect("set_timeout moves end_at", abs(end - (time.time() + 3)) < 3, f"end {end} now {time.time()}")
    until("sandbox expired", lambda: not short.is_running(), 40, 0.5)
    ok("expiry kills the sandbox")


def killed_mid_run():
    # Created right after the expiry removed a sandbox: it may get that one's IP.
    victim = Sandbox.create(timeout=120, metadata={"suite": RUN_ID, "flavour": "victim"})
    h = victim.commands.run("echo started; sleep 60", background=True)
    Sandbox.kill(victim.sandbox_id)
    try:
        h.wait()
        expect("a command whose sandbox is killed", False, "wait returned normally")
    except NOT_RUNNING as e:
        ok("a command whose sandbox is killed raises " + type(e).__name__)


def kill_and_auth():
    expect("kill", sb.kill() is True)
    try:
        Sandbox.connect(sb.sandbox_id)
        expect("connect to a killed sandbox", False, "no exception")
    except NOT_FOUND:
        ok("connect to a killed sandbox raises not found")
    expect("kill again is False", Sandbox.kill(sb.sandbox_id) is False)
    try:
        Sandbox.create(api_key="e2b_" + "0" * 40)
        expect("wrong key", False, "no exception")
    except e2b.AuthenticationException:
        ok("wrong key raises AuthenticationException")


for name, fn in [
    ("commands", commands),
    ("background", background),
    ("pty", pty),
    ("files", files),
    ("host", host),
    ("list", listing),
    ("pause", pause_connect),
    ("expiry", expiry),
    ("killed mid-run", killed_mid_run),
    ("kill", kill_and_auth),
]:
    if selected(name):
        step(name, fn)
print("all sync checks passed", flush=True)
