"""Operator command line: `python -m core.cli <command>`, one module per domain."""
