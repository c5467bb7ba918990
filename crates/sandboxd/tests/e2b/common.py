"""Shared by the E2B SDK conformance scripts (run by ../e2b_sdk.rs): one printed line per check,
exit status 1 with the reason on the first failure. The scripts assert what sandboxd documents:
the sandbox user answers to `user`, its home (default cwd, base of relative paths) is
/home/sandbox."""

import hashlib
import http.client
import os
import sys
import time
import traceback

import e2b

HOME = "/home/sandbox"
VERSION = getattr(e2b, "__version__", None)
if VERSION is None:
    from importlib.metadata import version

    VERSION = version("e2b")

# Exceptions by the name each SDK version gives them (2.10 has no SandboxNotFoundException).
NOT_FOUND = tuple(
    getattr(e2b, n)
    for n in ("SandboxNotFoundException", "NotFoundException")
    if hasattr(e2b, n)
)
# What a stream cut by the sandbox's death raises: SandboxNotRunningException where the SDK has
# it (after its /health probe gets the proxy's "was not found" 502); 2.10 lets its transport's
# error through (httpcore.RemoteProtocolError: incomplete chunked read), which is still an
# error and not a clean end.
NOT_RUNNING = getattr(e2b, "SandboxNotRunningException", Exception)
FILE_NOT_FOUND = getattr(e2b, "FileNotFoundException", e2b.NotFoundException)

RUN_ID = os.environ["SUITE_RUN_ID"]
# Comma-separated step names to run (debugging); empty: every step.
ONLY = [x for x in os.environ.get("SUITE_ONLY", "").split(",") if x]


def selected(name):
    return not ONLY or name in ONLY
PREVIEW_ADDR = os.environ["SUITE_PREVIEW_ADDR"]


def routable(sandbox, fallback, name):
    """`sandbox` if its envd requests carry the routing headers, else `fallback` (same id). Older
    SDKs (2.10) build the sandbox `Sandbox.connect(id)` returns without `E2b-Sandbox-Id`, so in
    plain-HTTP mode nothing names the sandbox; TLS mode (host routing) does not need them."""
    if "E2b-Sandbox-Id" in sandbox.connection_config.sandbox_headers:
        return sandbox
    ok(name, f"e2b {VERSION}: Sandbox.connect() sends no routing headers; using the created handle")
    return fallback


def ok(name, detail=""):
    print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)


def fail(name, reason):
    print(f"FAIL {name}: {reason}", flush=True)
    sys.exit(1)


def expect(name, cond, detail=""):
    if not cond:
        fail(name, detail or "condition false")
    ok(name)


def crashed(name):
    fail(name, traceback.format_exc())


def sha(data):
    return hashlib.sha256(data).hexdigest()


def http_get(host, path="/"):
    """GET through the preview listener with the Host `get_host()` gave (glibc does not
    resolve *.localhost, so connect to the listener's address and send the Host header)."""
    conn = http.client.HTTPConnection(PREVIEW_ADDR, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def until(what, probe, seconds=30.0, every=0.2):
    """Poll `probe` until it returns a truthy value (bounded); returns that value."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds}s (last: {last!r})")
