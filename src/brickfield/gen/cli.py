"""``brickfield lego generate``: caption -> brick structures, written as .txt and .ldr.

Register with ``app.command("generate")(generate_command)``. Heavy imports (torch, transformers,
openai) happen inside the command, so registering it costs nothing at CLI start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from brickfield.core.cliutil import EXIT_FAIL, EXIT_OK, EXIT_UNREADABLE
from brickfield.core.errors import BrickfieldError

_MODES = ("fast", "parity")
_REGEX_DIALECTS = ("vllm", "vllm<0.12", "sglang")  # servers that take a regex and continue a prefix


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNREADABLE)


def _check_options(model: str | None, base_url: str | None, mode: str, out: Path | None) -> None:
    if model is None and base_url is None:
        raise typer.BadParameter("give --model PATH|smollm2 for a local model, "
                                 "or --base-url URL for a server")
    if mode not in _MODES:
        raise typer.BadParameter(f"--mode must be one of {', '.join(_MODES)}")
    if out is not None and out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--out {out} exists and is not a folder")


def _generator(model: str | None, base_url: str | None, api_key: str | None, dialect: str,
               gen_kwargs: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer or None, extra kwargs) for best_of_n."""
    if base_url is not None:
        from brickfield.llm import OpenAIChatModel

        chat = OpenAIChatModel(model, base_url=base_url, api_key=api_key, dialect=dialect)
        server = dialect in _REGEX_DIALECTS
        extra = {k: v for k, v in gen_kwargs.items() if k != "mode"}
        return chat, None, {**extra, "structured": server, "continue_final": server}
    import torch

    from brickfield.llm.hf_backend import load_hf

    torch_model, tokenizer = load_hf(model, dtype=torch.float32)  # type: ignore[arg-type]
    return torch_model, tokenizer, gen_kwargs


def _summary_table(result: Any, caption: str) -> Table:
    table = Table(title=f"{len(result.generations)} structure(s) for {caption!r}")
    for col in ("#", "bricks", "stable", "rejections", "rollbacks", "tokens", "model s", "other s", "stop"):
        table.add_column(col, justify="left" if col in ("rejections", "stop") else "right")
    for i, gen in enumerate(result.generations):
        st = gen.stats
        rej = ", ".join(f"{k} {v}" for k, v in sorted(st.rejections.items())) or "-"
        mark = "*" if i == result.best_index and len(result.generations) > 1 else ""
        stable = {True: "yes", False: "no", None: "-"}[st.stable]
        table.add_row(f"{i}{mark}", str(st.bricks), stable, rej,
                      f"{st.regenerations} (-{st.bricks_removed})", str(st.tokens), f"{st.model_seconds:.2f}",
                      f"{st.overhead_seconds:.2f}", st.stop_reason, style=None if st.stable else "yellow")
    return table


def _write(out: Path, result: Any, caption: str) -> list[Path]:
    from brickfield.lego.ldraw import to_ldr

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, gen in enumerate(result.generations):
        stem = out / f"structure_{i:02d}"
        stem.with_suffix(".txt").write_text(gen.text, encoding="utf-8")
        ldr = to_ldr(gen.structure, title=caption) if len(gen.structure) else "0 empty model\n"
        stem.with_suffix(".ldr").write_text(ldr, encoding="utf-8")
        written += [stem.with_suffix(".txt"), stem.with_suffix(".ldr")]
    summary = out / "summary.json"
    summary.write_text(json.dumps({"caption": caption, **result.to_dict()}, indent=1), encoding="utf-8")
    return [*written, summary]


def generate_command(
    caption: str = typer.Option(..., "--caption", help="What to build."),
    model: str = typer.Option(None, "--model", help=(
        "Local Hugging Face model folder (with its tokenizer) or 'smollm2' for the bundled "
        "SmolLM2-135M-Instruct; with --base-url, the served model's name.")),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible server, e.g. http://host:8000/v1."),
    n: int = typer.Option(1, "--n", min=1, help="Structures to generate (best by stability is marked *)."),
    mode: str = typer.Option("fast", "--mode", help="fast (mask infeasible coordinates) or parity (BrickGPT "
                                                    "rejection sampling). Local models only."),
    max_bricks: int = typer.Option(2000, "--max-bricks", min=1, help="Brick budget per structure."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (structure i uses a seed derived from it)."),
    out: Path = typer.Option(None, "--out", help="Folder for structure_NN.txt/.ldr and summary.json."),
    temperature: float = typer.Option(0.6, "--temperature", min=0.0, max=2.0),
    rollback: bool = typer.Option(True, "--rollback/--no-rollback", help="Physics-aware rollback."),
    max_regenerations: int = typer.Option(100, "--max-regenerations", min=0),
    reject_floating: bool = typer.Option(False, "--reject-floating", help=(
        "Also refuse bricks with nothing directly below or above them (BrickGPT only catches them at "
        "rollback).")),
    world_dim: int = typer.Option(20, "--world-dim", min=1, max=100, help="Grid size (cube)."),
    dialect: str = typer.Option("openai", "--dialect", help=(
        "Server kind with --base-url: openai, vllm, vllm<0.12 or sglang (the last three get the grammar "
        "as a regex and continue partial answers).")),
    api_key: str = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", help="Key for --base-url."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON instead of a table."),
) -> None:
    """Generate brick structures for a caption with a local causal LM or an OpenAI-compatible server,
    constrained brick by brick. Exit 0 when every structure has bricks, 1 otherwise, 2 on bad input."""
    _check_options(model, base_url, mode, out)
    from rich.progress import Progress

    from brickfield.gen.best import best_of_n

    gen_kwargs = {"mode": mode, "max_bricks": max_bricks, "temperature": temperature, "rollback": rollback,
                  "max_regenerations": max_regenerations, "world_dim": world_dim,
                  "reject_floating": reject_floating}
    console = Console(stderr=as_json)
    try:
        with console.status("loading model", spinner="dots"):
            lm, tokenizer, kwargs = _generator(model, base_url, api_key, dialect, gen_kwargs)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("generating", total=n)
            result = best_of_n(lm, tokenizer, caption, n=n, seed=seed, scorer="stability",
                               on_generation=lambda i, g: progress.advance(task), **kwargs)
    except BrickfieldError as exc:
        raise _fail(str(exc)) from None
    written = _write(out, result, caption) if out is not None else []
    if as_json:
        typer.echo(json.dumps({"caption": caption, **result.to_dict()}))
    else:
        console.print(_summary_table(result, caption))
        rej = sum(g.stats.n_rejections for g in result.generations)
        regen = sum(g.stats.regenerations for g in result.generations)
        console.print(f"rejections {rej}, rollbacks {regen}, stable "
                      f"{sum(bool(g.stable) for g in result.generations)}/{n}")
        for gen in result.generations:
            if gen.stats.unstable_reason:
                console.print(f"  unstable: {gen.stats.unstable_reason}")
        if written:
            console.print(f"wrote {len(written)} files to {out}")
        elif n == 1:
            console.print(result.best.text, end="", markup=False, highlight=False)
    raise typer.Exit(EXIT_OK if all(len(g.structure) for g in result.generations) else EXIT_FAIL)
