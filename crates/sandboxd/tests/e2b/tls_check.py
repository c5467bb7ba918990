"""TLS mode: envd reached by host routing (`49983-<id>.<E2B_DOMAIN>`) over the preview
listener's TLS, trusted through SSL_CERT_FILE (a local CA); no E2B_SANDBOX_URL. sandboxd does
not serve its API at `api.<E2B_DOMAIN>`, so E2B_API_URL still names the API listener."""

from e2b import Sandbox

from common import VERSION, crashed, expect, ok

print(f"e2b {VERSION} sync, TLS host routing", flush=True)
try:
    sb = Sandbox.create(timeout=120)
    ok("create", f"{sb.sandbox_id} envd at {sb.envd_api_url}")
    expect("envd over https with host routing", sb.envd_api_url.startswith(f"https://49983-{sb.sandbox_id}."))
    r = sb.commands.run("echo tls")
    expect("run over TLS", r.stdout == "tls\n", repr(r))
    sb.files.write("t.txt", "x")
    expect("files over TLS", sb.files.read("t.txt") == "x")
    expect("kill", sb.kill() is True)
except SystemExit:
    raise
except Exception:
    crashed("tls")
print("all TLS checks passed", flush=True)
