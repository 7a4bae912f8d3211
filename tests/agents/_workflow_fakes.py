"""Scripted agents for the workflow tests: answers per role, chosen by reading the system prompt.

``script(messages, seed)`` answers like a (very consistent) model would: designers and single agents
write the reference catapult, builders write growing prefixes of it, the inspector lists an issue,
the querier asks about the Starting Block, the refiner removes one leaf block of the machine it was shown
(picked by the request seed, so candidates differ), the meta-designer writes a 3-part blueprint.
``ScriptedModel`` serves it in process; ``responder`` serves it from ``tests.llm.fake_server``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from brickfield.agents.prompts import answer_block
from brickfield.llm import ChatRequest, ChatResult, Completion, Usage
from tests.llm.fake_server import RecordedRequest, Reply, ok

CATAPULT = json.loads((Path(__file__).parents[2] / "src/brickfield/machines/data/machines/catapult.json")
                      .read_text())
STAGE_SIZES = {"base": 9, "arm": 12, "payload": 14}  # catapult prefix length after each stage

ROLE_MARKERS = (("meta_designer", "You are the meta-designer"), ("builder", "You are a builder"),
                ("inspector", "You are the inspector"), ("refiner", "You are the refiner"),
                ("querier", "You are the environment querier"), ("designer", "You are the designer"),
                ("single_agent", "alone and in one answer"))

BLUEPRINT = {
    "machine": "counterweight catapult",
    "requirements": ["throw the boulder forward", "stay on the ground"],
    "functional_blocks": [
        {"name": "base", "purpose": "a wide, heavy frame", "block_types": ["0", "63", "35", "15", "1"],
         "connects_to": [], "design": "logs left and right of the Starting Block, ballast at the ends"},
        {"name": "arm", "purpose": "a hinged throwing arm", "block_types": ["5", "63", "30"],
         "connects_to": ["base"], "design": "a hinge on top, a log and a container"},
        {"name": "payload", "purpose": "the boulder and the band that throws it", "block_types": ["36", "9"],
         "connects_to": ["arm", "base"], "design": "boulder in the container, rubber band to the base"},
    ],
    "build_order": ["base", "arm", "payload"],
}


def role_of(messages: list[dict[str, Any]]) -> str:
    """The role a request is for, from its system prompt."""
    system = str(messages[0].get("content", "")) if messages else ""
    for role, marker in ROLE_MARKERS:
        if marker in system:
            return role
    return "unknown"


def tree_text(blocks: list[dict[str, Any]]) -> str:
    """A tree in a ```json fence with a line of reasoning before it."""
    return "I reason about the machine first.\n```json\n" + json.dumps(blocks) + "\n```"


def _leaf_edit(user: str, seed: int) -> str:
    machine = json.loads(answer_block(user, "json") or "[]")
    parents = {p for b in machine for k in ("parent", "parent_a", "parent_b") if (p := b.get(k)) is not None}
    leaves = [b["order_id"] for b in machine if b["order_id"] != 0 and b["order_id"] not in parents]
    if not leaves:
        return "nothing to remove"
    return f"Remove the block that does least.\n```edits\nRemove [{leaves[seed % len(leaves)]}]\n```\n" \
           "```prediction\nIt will behave much the same.\n```"


def script(messages: list[dict[str, Any]], seed: int | None = 0) -> str:
    """The scripted answer to a request."""
    role = role_of(messages)
    user = str(messages[-1].get("content", ""))
    seed = seed or 0
    if role in ("designer", "single_agent"):
        return tree_text(CATAPULT)
    if role == "builder":
        part = next((name for name in STAGE_SIZES if f"Part to build now: {name}" in user), "payload")
        return tree_text(CATAPULT[:STAGE_SIZES[part]])
    if role == "inspector":
        return "1. The band is fine.\n```issues\norder_id 13: may be weak -> keep it\n```"
    if role == "querier":
        return "The boulder flies.\n```query\n" + json.dumps(
            [{"order_id": 0, "duration": [0, 1], "properties": ["position"]}]) + "\n```"
    if role == "refiner":
        return _leaf_edit(user, seed)
    if role == "meta_designer":
        return "Plan.\n```json\n" + json.dumps(BLUEPRINT) + "\n```"
    return "I do not know this role."


class ScriptedModel:
    """An in-process ChatModel answering with ``script`` (or ``answer(messages, seed)``); counts
    calls per role."""

    def __init__(self, answer: Any = None, name: str = "scripted") -> None:
        self.name = name
        self.answer = answer or script
        self.calls: Counter[str] = Counter()

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one request."""
        messages = [dict(m) for m in request.messages]
        self.calls[role_of(messages)] += 1
        text = self.answer(messages, request.seed)
        return ChatResult((Completion(text, "stop", len(text.split())),), Usage(100, len(text.split())),
                          self.name, 0.0)

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        """Async ``complete``."""
        return self.complete(request)


def responder(record: RecordedRequest) -> Reply:
    """The fake server's responder: ``script`` on the request body."""
    body = record.body if isinstance(record.body, dict) else {}
    return ok(script(body.get("messages") or [{}], body.get("seed")))


def roles_of(server_bodies: list[Any]) -> Counter[str]:
    """Requests per role received by the fake server."""
    return Counter(role_of(b.get("messages") or [{}]) for b in server_bodies if isinstance(b, dict))
