"""``python -m w2v ...`` runs the ``w2v`` command line."""
from w2v.cli import main

main()
