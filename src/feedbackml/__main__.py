"""``python -m feedbackml`` runs the command-line interface."""

from feedbackml.cli import main

main()
