"""Package data: one JSON file per BesiegeField level (schema in ``docs/levels.md``), written by
``scripts/convert_blv.py`` and read by :mod:`brickfield.machines.levels.schema`."""
