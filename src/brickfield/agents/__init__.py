"""Agents over the design domains: the edit language (``edits``), the parsed 3D information of a
machine (``info3d``), the role prompts (``prompts``), offline designers and the workflows.

Nothing is imported here: use the submodules (``from brickfield.agents.edits import apply_edits``),
so that importing the package stays cheap and free of MuJoCo.
"""
