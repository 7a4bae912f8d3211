"""Besiege-style compositional machines: catalog, construction trees, placement, physics, tasks."""
