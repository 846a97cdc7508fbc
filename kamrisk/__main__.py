"""``python -m kamrisk`` runs the command line."""

from ._cli import main

main()
