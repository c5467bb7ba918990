"""Figure 10's client side: Sandbox.create() then commands.run("true") through the stock E2B
SDK, timed in-process (the interpreter's start is not the SDK's latency); each sandbox is
killed outside the clock. Prints one `ms <value>` line per recorded round."""

import os
import time

from e2b import Sandbox

rounds = int(os.environ["BENCH_ROUNDS"])
warmup = int(os.environ["BENCH_WARMUP"])
for i in range(warmup + rounds):
    t = time.perf_counter()
    sb = Sandbox.create()
    sb.commands.run("true")
    took = (time.perf_counter() - t) * 1000.0
    sb.kill()
    if i >= warmup:
        print(f"ms {took:.3f}", flush=True)
