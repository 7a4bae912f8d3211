"""Throughput and overhead of the OpenAI-compatible client (brickfield.llm.OpenAIChatModel) on loopback.

Everything runs against the fake server from tests/llm/fake_server.py on 127.0.0.1, in one run:

1. Overhead: median time of one call through `OpenAIChatModel.complete` vs the bare SDK
   (`AsyncOpenAI.chat.completions.create` awaited in one loop), server answering at once.
2. Concurrency: N calls through `acomplete` with a server that holds each request `--latency` ms, for several
   `concurrency` caps; the ratio is the speed-up over the cap of 1 measured in the same run.
3. Cache: median time of a cache hit vs a live call.

    .venv/bin/python benchmarks/llm_client.py [--calls 64] [--latency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.llm.fake_server

import openai
from rich.console import Console
from rich.table import Table
from tests.llm.fake_server import FakeChatServer

from brickfield.llm import ChatRequest, OpenAIChatModel


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def overhead(repeats: int) -> list[tuple[str, float]]:
    request = ChatRequest.from_prompt("hello", max_tokens=8)
    with FakeChatServer() as srv:
        bare = openai.AsyncOpenAI(api_key="x", base_url=srv.url, max_retries=0)
        loop = asyncio.new_event_loop()

        def sdk_call() -> None:
            loop.run_until_complete(bare.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hello"}], max_tokens=8))

        model = OpenAIChatModel("m", base_url=srv.url, api_key="x")
        sdk_call()
        model.complete(request)  # warm both connection pools
        sdk = _median_ms(sdk_call, repeats)
        ours = _median_ms(lambda: model.complete(request), repeats)
        model.close()
        loop.run_until_complete(bare.close())
        loop.close()
    return [("bare SDK call (baseline)", sdk), ("OpenAIChatModel.complete", ours)]


def concurrency(calls: int, latency_ms: float, caps: tuple[int, ...]) -> list[tuple[int, float]]:
    def slow(_rec):
        time.sleep(latency_ms / 1000)

    rows = []
    with FakeChatServer(slow) as srv:
        for cap in caps:
            model = OpenAIChatModel("m", base_url=srv.url, api_key="x", concurrency=cap, timeout=30)

            async def run_all(m: OpenAIChatModel = model) -> None:
                await asyncio.gather(*(m.acomplete(ChatRequest.from_prompt(f"p{i}")) for i in range(calls)))

            t0 = time.perf_counter()
            asyncio.run(run_all())
            rows.append((cap, time.perf_counter() - t0))
            model.close()
    return rows


def cache_hit(repeats: int) -> list[tuple[str, float]]:
    request = ChatRequest.from_prompt("cached", max_tokens=8)
    with FakeChatServer() as srv, tempfile.TemporaryDirectory() as tmp:
        live = OpenAIChatModel("m", base_url=srv.url, api_key="x")
        cached = OpenAIChatModel("m", base_url=srv.url, api_key="x", cache=tmp)
        cached.complete(request)
        live.complete(request)
        live_ms = _median_ms(lambda: live.complete(request), repeats)
        hit_ms = _median_ms(lambda: cached.complete(request), repeats)
        live.close()
        cached.close()
    return [("live call (baseline)", live_ms), ("cache hit", hit_ms)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=64)
    parser.add_argument("--latency", type=float, default=20.0, help="server hold time per request, ms")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    console = Console()

    table = Table(title="per-call overhead (loopback, instant server)")
    for col in ("path", "median ms", "ratio vs baseline"):
        table.add_column(col)
    rows = overhead(args.repeats)
    for name, ms in rows:
        table.add_row(name, f"{ms:.2f}", f"{ms / rows[0][1]:.2f}")
    console.print(table)

    table = Table(title=f"{args.calls} calls, server holds each {args.latency:g} ms")
    for col in ("concurrency cap", "wall s", "calls/s", "speed-up vs cap 1"):
        table.add_column(col)
    conc = concurrency(args.calls, args.latency, (1, 4, 8, 16))
    for cap, secs in conc:
        table.add_row(str(cap), f"{secs:.2f}", f"{args.calls / secs:.0f}", f"{conc[0][1] / secs:.1f}")
    console.print(table)

    table = Table(title="disk cache")
    for col in ("path", "median ms", "ratio vs baseline"):
        table.add_column(col)
    rows = cache_hit(args.repeats)
    for name, ms in rows:
        table.add_row(name, f"{ms:.2f}", f"{ms / rows[0][1]:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
