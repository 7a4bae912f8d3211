"""Role prompts of the machine-design agents (texts are the ``*.txt`` templates in this package) and
the meta-designer's blueprint format. See ``roles`` for the fields and ``load_prompts`` for a folder
of your own templates."""

from brickfield.agents.prompts.blueprint import (
    BLUEPRINT_FORMAT,
    Blueprint,
    BlueprintError,
    FunctionalBlock,
    parse_blueprint,
)
from brickfield.agents.prompts.roles import (
    CONTEXT_FIELDS,
    ROLES,
    TASK_FIELDS,
    PromptError,
    PromptFieldError,
    PromptSet,
    PromptTemplateError,
    RolePrompt,
    RoleSpec,
    answer_block,
    builder_prompt,
    default_prompts,
    designer_prompt,
    inspector_prompt,
    load_prompts,
    meta_designer_prompt,
    querier_prompt,
    refiner_prompt,
    render_role,
    resolve_level,
    single_agent_prompt,
    task_fields,
)

__all__ = [
    "BLUEPRINT_FORMAT", "CONTEXT_FIELDS", "ROLES", "TASK_FIELDS", "Blueprint", "BlueprintError",
    "FunctionalBlock", "PromptError", "PromptFieldError", "PromptSet", "PromptTemplateError", "RolePrompt",
    "RoleSpec", "answer_block", "builder_prompt", "default_prompts", "designer_prompt", "inspector_prompt",
    "load_prompts", "meta_designer_prompt", "parse_blueprint", "querier_prompt", "refiner_prompt",
    "render_role", "resolve_level", "single_agent_prompt", "task_fields",
]
