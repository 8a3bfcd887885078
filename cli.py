"""Launches the ``w2v`` command line (it lives in :mod:`w2v.cli`): ``python cli.py ...`` = ``w2v ...``."""
from w2v.cli import cli, main, parse_expression  # noqa: F401

if __name__ == "__main__":
    main()
