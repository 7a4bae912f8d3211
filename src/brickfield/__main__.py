"""``python -m brickfield`` runs the command line."""

from brickfield.cli import main

main()
