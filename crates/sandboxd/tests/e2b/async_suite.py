"""The E2B SDK's `AsyncSandbox` against sandboxd (see common.py for the conventions)."""

import asyncio
import os
import time

import e2b
from e2b import AsyncSandbox, CommandExitException, SandboxQuery, TimeoutException
from e2b.sandbox.commands.command_handle import PtySize
from e2b.sandbox.filesystem.filesystem import FileType

from common import (
    FILE_NOT_FOUND, HOME, NOT_FOUND, NOT_RUNNING, RUN_ID, VERSION, crashed, selected, expect, http_get, ok, routable, sha,
)

print(f"e2b {VERSION} async", flush=True)


async def until(what, probe, seconds=30.0, every=0.2):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {seconds}s (last: {last!r})")


async def main():
    meta = {"suite": RUN_ID, "flavour": "async"}
    try:
        sb = await AsyncSandbox.create(timeout=300, metadata=meta, envs={"GREETING": "hello"})
        info = await sb.get_info()
    except Exception:
        crashed("create")
    ok("create", sb.sandbox_id)
    expect("get_info metadata", info.metadata.get("suite") == RUN_ID, repr(info.metadata))

    async def commands():
        r = await sb.commands.run("echo out; echo err >&2")
        expect("run stdout/stderr/exit", (r.stdout, r.stderr, r.exit_code) == ("out\n", "err\n", 0), repr(r))
        try:
            await sb.commands.run("echo bad >&2; exit 3")
            expect("nonzero exit raises", False, "no exception")
        except CommandExitException as e:
            expect("nonzero exit raises CommandExitException", e.exit_code == 3 and "bad" in e.stderr, repr(e))
        r = await sb.commands.run("echo $GREETING-$EXTRA", envs={"EXTRA": "x"})
        expect("sandbox and command env", r.stdout == "hello-x\n", repr(r.stdout))
        expect("default cwd is the home", (await sb.commands.run("pwd")).stdout == HOME + "\n")
        expect("cwd", (await sb.commands.run("pwd", cwd="/tmp")).stdout == "/tmp\n")
        start = time.monotonic()
        try:
            await sb.commands.run("sleep 30", timeout=2)
            expect("command timeout", False, "no exception")
        except TimeoutException:
            expect("command timeout raises TimeoutException", time.monotonic() - start < 15)

    async def background():
        h = await sb.commands.run("cat", background=True, stdin=True)
        pids = [p.pid for p in await sb.commands.list()]
        expect("list shows the background command", h.pid in pids, repr(pids))
        got = []
        c = await sb.commands.connect(h.pid, on_stdout=got.append)
        await sb.commands.send_stdin(h.pid, "ping\n")

        async def echoed():
            return "ping" in "".join(got)

        await until("stdin echoed", echoed, 15)
        ok("connect + send_stdin")
        expect("kill", await sb.commands.kill(h.pid) is True)
        try:
            await c.wait()
            expect("killed command", False, "wait returned normally")
        except CommandExitException as e:
            ok("killed command ends with CommandExitException", f"exit {e.exit_code}")
        expect("kill again is False", await sb.commands.kill(h.pid) is False)

    async def pty():
        out = []
        h = await sb.pty.create(PtySize(rows=24, cols=80), on_data=out.append)
        await sb.pty.resize(h.pid, PtySize(rows=33, cols=101))
        await sb.pty.send_stdin(h.pid, b"stty size; exit\n")
        await h.wait()
        text = b"".join(out).decode(errors="replace")
        expect("pty create/resize/send_stdin", "33 101" in text, repr(text[-300:]))
        h2 = await sb.pty.create(PtySize(rows=24, cols=80), on_data=lambda _: None)
        expect("pty kill", await sb.pty.kill(h2.pid) is True)

    async def files():
        events = []
        w = await sb.files.watch_dir(HOME, on_event=events.append)
        info = await sb.files.write("hello.txt", "hi there")
        expect("write (relative path under the home)", info.path == f"{HOME}/hello.txt", repr(info))
        expect("read", await sb.files.read("hello.txt") == "hi there")
        names = [e.name for e in await sb.files.list(HOME)]
        expect("list", "hello.txt" in names, repr(names))
        expect("exists", await sb.files.exists("hello.txt") and not await sb.files.exists("nope.txt"))
        gi = await sb.files.get_info("hello.txt")
        expect("get_info", gi.type == FileType.FILE and gi.size == 8, repr(gi))
        expect("make_dir", await sb.files.make_dir("d") is True and await sb.files.make_dir("d") is False)
        moved = await sb.files.rename("hello.txt", "d/moved.txt")
        expect("rename", moved.path == f"{HOME}/d/moved.txt" and not await sb.files.exists("hello.txt"))
        await sb.files.remove("d/moved.txt")
        expect("remove", not await sb.files.exists("d/moved.txt"))
        try:
            await sb.files.read("d/moved.txt")
            expect("read of a missing file", False, "no exception")
        except FILE_NOT_FOUND:
            ok("read of a missing file raises")

        async def seen():
            return any(e.name == "hello.txt" for e in events)

        await until("watch_dir sees hello.txt", seen, 15)
        await w.stop()
        ok("watch_dir", ", ".join(sorted({f"{e.type.name}:{e.name}" for e in events})))
        data = os.urandom(50 * 1024 * 1024)
        t = time.monotonic()
        await sb.files.write("big.bin", data)
        back = await sb.files.read("big.bin", format="bytes")
        expect("50 MiB upload + download", sha(bytes(back)) == sha(data), f"{len(back)} bytes back")
        ok("50 MiB round trip time", f"{time.monotonic() - t:.1f}s")

    async def host():
        await sb.commands.run("sandboxd-fixture 8000", background=True)
        h = sb.get_host(8000)
        expect("get_host form", h.startswith(f"8000-{sb.sandbox_id}."), h)

        async def answered():
            status, body = await asyncio.to_thread(http_get, h)
            return body if status == 200 else None

        body = await until("dev server answers", answered, 30)
        expect("HTTP GET through get_host", b"8000" in body, repr(body[:200]))

    async def listing():
        q = SandboxQuery(metadata={"suite": RUN_ID, "flavour": "async"})
        items = await AsyncSandbox.list(query=q).next_items()
        ids = [i.sandbox_id for i in items]
        expect("list with a metadata filter", sb.sandbox_id in ids, repr(ids))

    async def pause_connect():
        await sb.files.write("keep.txt", "kept")
        await (sb.pause() if hasattr(sb, "pause") else sb.beta_pause())
        state = (await sb.get_info()).state.value
        expect("paused state", state == "paused", state)
        back = routable(await AsyncSandbox.connect(sb.sandbox_id), sb, "connect (note)")
        expect("connect after pause keeps the workspace", await back.files.read("keep.txt") == "kept")

    async def expiry():
        short = await AsyncSandbox.create(timeout=300, metadata={"suite": RUN_ID, "flavour": "expiry"})
        await short.set_timeout(3)
        end = (await short.get_info()).end_at.timestamp()
        expect("set_timeout moves end_at", abs(end - (time.time() + 3)) < 3, f"end {end} now {time.time()}")

        async def gone():
            return not await short.is_running()

        await until("sandbox expired", gone, 40, 0.5)
        ok("expiry kills the sandbox")

    async def killed_mid_run():
        # Created right after the expiry removed a sandbox: it may get that one's IP.
        victim = await AsyncSandbox.create(timeout=120, metadata={"suite": RUN_ID, "flavour": "victim"})
        h = await victim.commands.run("echo started; sleep 60", background=True)
        await AsyncSandbox.kill(victim.sandbox_id)
        try:
            await h.wait()
            expect("a command whose sandbox is killed", False, "wait returned normally")
        except NOT_RUNNING as e:
            ok("a command whose sandbox is killed raises " + type(e).__name__)

    async def kill_and_auth():
        expect("kill", await sb.kill() is True)
        try:
            await AsyncSandbox.connect(sb.sandbox_id)
            expect("connect to a killed sandbox", False, "no exception")
        except NOT_FOUND:
            ok("connect to a killed sandbox raises not found")
        expect("kill again is False", await AsyncSandbox.kill(sb.sandbox_id) is False)
        try:
            await AsyncSandbox.create(api_key="e2b_" + "0" * 40)
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
        if not selected(name):
            continue
        try:
            await fn()
        except SystemExit:
            raise
        except Exception:
            crashed(name)
    print("all async checks passed", flush=True)


asyncio.run(main())
