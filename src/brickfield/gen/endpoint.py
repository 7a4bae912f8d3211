"""Caption -> structure with a model behind a chat API (:class:`brickfield.llm.ChatModel`).

No logits here, so the per-token masks become request-level constraints and checks:

* ``structured=True`` (the caller says the server supports it, e.g. vLLM or SGLang): the brick
  grammar goes out as a regex :class:`~brickfield.llm.StructuredOutput`, so every line parses;
* each completion is parsed leniently and replayed into a :class:`BuildState`; the valid prefix
  (bricks before the first malformed line or refused brick) is kept, each refusal counted by reason;
* when the completion had a problem, was cut off, or the structure is unstable (physics rollback, as
  in :mod:`brickfield.gen.generate`), the next request continues from the kept prefix: as an
  assistant prefix with ``continue_final=True`` when the caller says the server allows it, otherwise
  by re-prompting with the partial structure (an echoed prefix in the reply is recognised and skipped).

Requests are bounded by ``max_rounds``; three rounds in a row that add nothing stop with
``no_progress``. Request ``seed`` is ``seed + round``, so a run is reproducible on servers that honour it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from brickfield.gen.errors import GenerationError
from brickfield.gen.grammar import BrickGrammar
from brickfield.gen.prompt import PromptStyle, brick_messages
from brickfield.gen.rollback import OnUnstable, stable_prefix
from brickfield.gen.stats import Generation, GenerationStats
from brickfield.lego.checks import ILL_FORMATTED, BuildState
from brickfield.lego.library import DEFAULT_WORLD_DIM
from brickfield.lego.stability import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import parse_text
from brickfield.llm import ChatModel, ChatRequest, LLMUnsupportedError, StructuredOutput

MAX_STALLS = 3
_CONTINUE_NOTE = ("\n\nThe structure so far is below. Keep it as it is and reply with only the bricks that "
                  "come after it.\n")


@dataclass(frozen=True)
class EndpointOptions:
    """How to talk to the server (see the module docstring)."""

    structured: bool = False
    continue_final: bool = False
    temperature: float = 0.6
    max_tokens: int = 4096
    max_rounds: int = 20
    max_bricks: int = 2000
    reject_floating: bool = False


def _new_bricks(text: str, prefix: Structure, world_dim: tuple[int, int, int]) -> tuple[list[Any], bool]:
    """Bricks of a reply in order, and whether a malformed brick line cut them short.

    A reply that restates the prefix first (re-prompting makes models do that) has it skipped."""
    parsed = parse_text(text, world_dim=world_dim)
    bricks = list(parsed.structure.bricks)
    first_bad = min((i.line for i in parsed.issues if i.line is not None), default=None)
    if first_bad is not None:
        bricks = [b for b, ln in zip(bricks, parsed.line_numbers, strict=True) if ln < first_bad]
    n = len(prefix)
    if n and len(bricks) >= n and tuple(bricks[:n]) == prefix.bricks:
        bricks = bricks[n:]
    return bricks, first_bad is not None


class _EndpointRun:
    def __init__(self, chat: ChatModel, messages: list[dict[str, str]], grammar: BrickGrammar,
                 opts: EndpointOptions, stats: GenerationStats, seed: int) -> None:
        self.chat, self.messages, self.grammar, self.opts = chat, messages, grammar, opts
        self.stats, self.seed = stats, seed
        self.build = BuildState(grammar.world_dim)
        self.rounds = 0

    def request(self) -> ChatRequest:
        prefix = self.build.structure().to_text()
        msgs = list(self.messages)
        cont = bool(prefix) and self.opts.continue_final
        if cont:
            msgs.append({"role": "assistant", "content": prefix})
        elif prefix:
            last = msgs[-1]
            msgs[-1] = {"role": last["role"], "content": last["content"] + _CONTINUE_NOTE + prefix}
        structured = StructuredOutput("regex", self.grammar.regex()) if self.opts.structured else None
        return ChatRequest(messages=tuple(msgs), temperature=self.opts.temperature,
                           max_tokens=self.opts.max_tokens, seed=self.seed + self.rounds,
                           structured=structured, continue_final=cont)

    def fill(self) -> str:
        """Request and keep valid bricks until the model ends cleanly or a limit; the stop reason."""
        stalls = 0
        while True:
            if len(self.build) >= self.opts.max_bricks:
                return "max_bricks"
            if self.rounds >= self.opts.max_rounds:
                return "max_rounds"
            request = self.request()
            try:
                result = self.chat.complete(request)
            except LLMUnsupportedError as exc:
                raise GenerationError("unsupported", f"the server cannot do what was asked: {exc}") from None
            self.rounds += 1
            st = self.stats
            st.forward_passes += 1
            st.model_seconds += result.seconds
            st.tokens += result.usage.completion_tokens
            if not result.completions:
                stalls += 1
                if stalls >= MAX_STALLS:
                    return "no_progress"
                continue
            done, added = self.absorb(result.completions[0].text, result.completions[0].finish_reason)
            stalls = 0 if added else stalls + 1
            if done:
                return "eos"
            if stalls >= MAX_STALLS:
                return "no_progress"

    def absorb(self, text: str, finish_reason: str | None) -> tuple[bool, int]:
        """Place the reply's valid prefix; (finished cleanly, bricks added)."""
        t0 = time.perf_counter()
        bricks, malformed = _new_bricks(text, self.build.structure(), self.grammar.world_dim)
        if malformed:
            self.stats.reject(ILL_FORMATTED)
        added, refused = 0, False
        for b in bricks:
            if len(self.build) >= self.opts.max_bricks:
                break
            reason = self.build.try_add(b, check_floating=self.opts.reject_floating)
            if reason is not None:
                self.stats.reject(reason)
                refused = True
                break
            added += 1
        self.stats.check_seconds += time.perf_counter() - t0
        # A clean stop ends the structure, even one adding nothing after a kept prefix (the model
        # considers it finished); with no brick at all it is only a stall.
        clean = (not malformed and not refused and finish_reason in (None, "stop") and len(self.build) > 0)
        return clean, added

    def truncate(self, keep: int) -> None:
        bricks = self.build.bricks[:keep]
        self.build = BuildState(self.grammar.world_dim)
        for b in bricks:
            self.build.add(b)


def generate_structure_endpoint(
    chat: ChatModel, caption: str, *, structured: bool = False, continue_final: bool = False,
    max_bricks: int = 2000, seed: int = 0, world_dim: int | Sequence[int] = DEFAULT_WORLD_DIM,
    rollback: bool = True, max_regenerations: int = 100, temperature: float = 0.6, max_tokens: int = 4096,
    max_rounds: int = 20, reject_floating: bool = False, prompt_style: PromptStyle = "brickfield",
    messages: Sequence[dict[str, str]] | None = None, on_unstable: OnUnstable = "last",
    stability_config: StabilityConfig | None = None,
) -> Generation:
    """Generate one structure for ``caption`` with a chat model (see the module docstring).

    ``structured``/``continue_final`` say what the server supports; ``max_rounds`` caps the requests
    over the whole generation (rollbacks included). Other arguments as in
    :func:`brickfield.gen.generate_structure`.
    """
    t_start = time.perf_counter()
    if max_bricks < 1 or max_rounds < 1 or max_regenerations < 0 or max_tokens < 1:
        raise GenerationError("bad_limit", "max_bricks, max_rounds, max_tokens must be >= 1 and "
                                           "max_regenerations >= 0")
    grammar = BrickGrammar(world_dim)
    msgs = list(messages) if messages is not None else brick_messages(caption, world_dim=world_dim,
                                                                     style=prompt_style)
    stats = GenerationStats()
    opts = EndpointOptions(structured, continue_final, temperature, max_tokens, max_rounds, max_bricks,
                           reject_floating)
    run = _EndpointRun(chat, msgs, grammar, opts, stats, seed)

    def analyze(s: Structure) -> StabilityResult:
        return analyze_stability(s, stability_config)

    result: StabilityResult | None = None
    for attempt in range(max_regenerations + 1 if rollback else 1):
        stats.stop_reason = run.fill()
        structure = run.build.structure()
        t0 = time.perf_counter()
        result = analyze(structure)
        stats.stability_seconds += time.perf_counter() - t0
        stats.attempts_stable.append(bool(result.stable))
        if result.stable or not rollback or attempt == max_regenerations or run.rounds >= max_rounds:
            break  # (no request left: keep this attempt rather than cut it and return the stump)
        cut = stable_prefix(structure, result, analyze)
        stats.stability_seconds += cut.seconds
        stats.regenerations += 1
        stats.bricks_removed += len(structure) - cut.keep
        run.truncate(cut.keep)

    structure = run.build.structure()
    if result is not None and not result.stable:
        why = ("max_rounds reached" if run.rounds >= max_rounds
               else f"max_regenerations ({max_regenerations}) reached" if rollback else "rollback off")
        stats.unstable_reason = f"{why}; failing: {', '.join(result.fail_kinds) or result.status}"
        if on_unstable == "stable_prefix":
            cut = stable_prefix(structure, result, analyze)
            structure = Structure(structure.bricks[:cut.keep], structure.world_dim)
            result = analyze(structure)
            stats.unstable_reason += f"; returned the stable prefix of {cut.keep} bricks"
    stats.bricks = len(structure)
    stats.stable = None if result is None else bool(result.stable)
    stats.total_seconds = time.perf_counter() - t_start
    return Generation(structure, structure.to_text(), stats, caption, seed, result)
