"""Cost of constrained brick decoding (brickfield.gen) against plain sampling on the same model.

Model: a random Llama with the real Llama-3 vocabulary (128,256 tokens; default hidden 256, 6 layers,
tied embeddings: ~39M parameters), and with ``--smollm2`` also the bundled SmolLM2-135M-Instruct
(49,152 tokens, digits split).

1. Decoding speed. Baseline: the same token loop (one forward per token through a live KV cache,
   inverse-CDF sampling at temperature 0.6) with no mask. Constrained: ``generate_structure`` in
   ``fast`` (grammar bias + semantic masks) and ``parity`` (grammar bias + per-brick rejection with
   KV crop) modes, EOS masked (``min_bricks``) so every run decodes the same number of tokens. The
   prompt prefill is timed separately and subtracted from every run. Runs are interleaved (order
   rotated per repeat) and repeated; the table shows medians. ``overhead`` = baseline tokens/s /
   constrained tokens/s (on a shared machine this ratio carries a few per cent of load noise in the
   model time); ``constraint share`` = (mask + check time) / (model + mask + sample + check time)
   per token, the part of each step spent on the constraints, which that noise barely moves.
2. Rollback cost at several context lengths: dropping a 10-token line by ``cache.crop(-10)`` (what
   the decoder does on a rejection) versus ``copy.deepcopy(cache)`` (what BrickGPT does before
   every brick attempt, to restore on rejection); and a physics rollback by rewind (crop + one
   forward) versus re-prefilling the whole prefix (BrickGPT re-prompts with the kept bricks).

Pin it for stable numbers: ``taskset -c 1 .venv/bin/python benchmarks/gen_decoding.py``.

    .venv/bin/python benchmarks/gen_decoding.py [--quick] [--smollm2] [--tokens N] [--threads T]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from brickfield.gen.assets import llama3_tokenizer, tiny_llama
from brickfield.gen.automaton import TokenAutomaton
from brickfield.gen.decoder import sample_token
from brickfield.gen.generate import generate_structure, get_automaton
from brickfield.gen.prompt import brick_messages, prompt_ids
from brickfield.gen.session import ModelSession
from brickfield.gen.stats import GenerationStats

CAPTION = "a small table with four legs"


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def unconstrained(model: Any, prompt: list[int], n_tokens: int, seed: int) -> tuple[float, GenerationStats]:
    """Seconds for the whole run (prefill included) of plain sampling, and its counters."""
    t0 = time.perf_counter()
    stats = GenerationStats()
    session = ModelSession(model, prompt, stats)
    gen = torch.Generator(device=session.device).manual_seed(seed)
    for _ in range(n_tokens):
        t1 = time.perf_counter()
        tok = sample_token(session.logits, 0.6, gen)
        stats.sample_seconds += time.perf_counter() - t1
        stats.tokens += 1
        session.feed(tok)
    return time.perf_counter() - t0, stats


def constrained(model: Any, tok: Any, mode: str, n_tokens: int, seed: int) -> tuple[float, GenerationStats]:
    t0 = time.perf_counter()
    gen = generate_structure(model, tok, CAPTION, mode=mode, seed=seed, max_tokens=n_tokens, max_bricks=2000,
                             min_bricks=2000, rollback=False, analyze=False)
    return time.perf_counter() - t0, gen.stats


def speed_table(name: str, model: Any, tok: Any, n_tokens: int, repeats: int) -> Table:
    prompt = prompt_ids(tok, brick_messages(CAPTION))
    get_automaton(tok, vocab_size=model.config.vocab_size, model=model)  # built once, outside the timing
    prefill = median_time(lambda: ModelSession(model, prompt, GenerationStats()), 3)
    modes = ("unconstrained", "fast", "parity")
    runs: dict[str, list[float]] = {m: [] for m in modes}
    stats: dict[str, list[GenerationStats]] = {m: [] for m in modes}
    for r in range(repeats):  # interleaved and rotated, so drift and run order hit every mode alike
        for mode in modes[r % 3:] + modes[:r % 3]:
            seconds, st = (unconstrained(model, prompt, n_tokens, r) if mode == "unconstrained"
                           else constrained(model, tok, mode, n_tokens, r))
            runs[mode].append(seconds - prefill)
            stats[mode].append(st)
    base = n_tokens / statistics.median(runs["unconstrained"])
    table = Table(title=f"{name}: {n_tokens} sampled tokens after a {len(prompt)}-token prompt, median of "
                        f"{repeats} (prefill {prefill * 1000:.0f} ms subtracted)")
    for col in ("decoding", "tokens/s", "overhead", "constraint share", "forwards/token", "model ms/tok",
                "mask us/tok", "sample us/tok", "check us/tok", "rejections", "bricks"):
        table.add_column(col, justify="left" if col == "decoding" else "right")
    for mode in modes:
        sts = stats[mode]
        rate = statistics.median(s.tokens for s in sts) / statistics.median(runs[mode])

        def per_tok(field: str, scale: float, sts: list[GenerationStats] = sts, minus: float = 0.0) -> str:
            return f"{statistics.median((getattr(s, field) - minus) / s.tokens for s in sts) * scale:.1f}"

        plain = mode == "unconstrained"
        fwd = statistics.median((s.forward_passes - 1) / s.tokens for s in sts)
        share = statistics.median(
            (s.mask_seconds + s.check_seconds)
            / (s.model_seconds - prefill + s.mask_seconds + s.sample_seconds + s.check_seconds) for s in sts)
        table.add_row(mode, f"{rate:.1f}", f"{base / rate:.3f}x", "-" if plain else f"{share:.2%}",
                      f"{fwd:.2f}",
                      per_tok("model_seconds", 1e3, minus=prefill),
                      "-" if plain else per_tok("mask_seconds", 1e6),
                      per_tok("sample_seconds", 1e6), "-" if plain else per_tok("check_seconds", 1e6),
                      "-" if plain else str(statistics.median(s.n_rejections for s in sts)),
                      "-" if plain else str(statistics.median(s.bricks or 0 for s in sts)))
    return table


def rollback_table(model: Any, vocab: int, lengths: tuple[int, ...], repeats: int) -> Table:
    table = Table(title="Rollback: drop a 10-token line (crop vs BrickGPT's per-attempt deepcopy), and a "
                        "physics rollback (rewind vs re-prefill of the prefix)")
    for col in ("context", "KV cache MB", "crop(-10) us", "deepcopy ms", "deepcopy/crop", "rewind ms",
                "re-prefill ms", "re-prefill/rewind"):
        table.add_column(col, justify="right")
    gen = torch.Generator().manual_seed(0)
    for length in lengths:
        ids = torch.randint(0, vocab, (length,), generator=gen).tolist()
        session = ModelSession(model, ids, GenerationStats())
        line = ids[:10]

        def crop_once(s: ModelSession = session, line: list[int] = line) -> float:
            for t in line:
                s.feed(t)
            t0 = time.perf_counter()
            s.cache.crop(-len(line))
            dt = time.perf_counter() - t0
            del s.tokens[-len(line):]
            return dt

        crop_s = statistics.median(crop_once() for _ in range(repeats))
        copy_s = median_time(lambda s=session: copy.deepcopy(s.cache), repeats)
        mb = sum(t.numel() * t.element_size() for layer in session.cache.layers
                 for t in (layer.keys, layer.values)) / 2**20
        rewind_s = median_time(lambda s=session, n=length: s.rewind(n - 5), repeats)
        prefill_s = median_time(lambda i=ids: ModelSession(model, i, GenerationStats()), max(1, repeats // 2))
        table.add_row(str(length), f"{mb:.1f}", f"{crop_s * 1e6:.0f}", f"{copy_s * 1e3:.2f}",
                      f"{copy_s / crop_s:.0f}x", f"{rewind_s * 1e3:.1f}", f"{prefill_s * 1e3:.1f}",
                      f"{prefill_s / rewind_s:.1f}x")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=240, help="sampled tokens per run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--smollm2", action="store_true", help="also benchmark SmolLM2-135M-Instruct")
    ap.add_argument("--quick", action="store_true", help="few tokens and repeats (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.tokens, args.repeats = 40, 1
    torch.set_num_threads(args.threads)
    console = Console(width=170)

    t0 = time.perf_counter()
    tok = llama3_tokenizer()
    t_tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    auto = TokenAutomaton(tok)
    t_auto = time.perf_counter() - t0
    console.print(f"Llama-3 tokenizer load {t_tok:.2f} s; automaton build {t_auto:.2f} s "
                  f"({len(auto.token_text)} candidate tokens, {len(auto.reachable)} states, "
                  f"{auto.n_rows} bias rows)")
    model = tiny_llama(len(tok), hidden=args.hidden, layers=args.layers, heads=4,
                       intermediate=4 * args.hidden, tie=True)
    n_params = sum(p.numel() for p in model.parameters()) / 1e6
    console.print(speed_table(f"random Llama {n_params:.0f}M (Llama-3 vocab)", model, tok, args.tokens,
                              args.repeats))
    lengths = (256, 1024) if args.quick else (256, 1024, 4096)
    console.print(rollback_table(model, len(tok), lengths, max(3, args.repeats * 3)))
    if args.smollm2:
        from brickfield.llm.hf_backend import load_hf

        t0 = time.perf_counter()
        sm_model, sm_tok = load_hf("smollm2", device="cpu", dtype=torch.float32)
        console.print(f"SmolLM2 load {time.perf_counter() - t0:.1f} s")
        console.print(speed_table("SmolLM2-135M-Instruct", sm_model, sm_tok, args.tokens, args.repeats))


if __name__ == "__main__":
    main()
