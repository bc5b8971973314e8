"""The `qa` command: one subcommand per thing a user does (model, index, add, remove, ask,
serve, eval), in `commands`; `arguments` holds what every command line shares, the tools of
`bench/` included. The top of the package: it may import every other part of `qa`, and nothing
in `qa` imports it."""

from qa.cli.commands import main

__all__ = ["main"]
