"""What every command line of the project shares, the `qa` command and the tools of `bench/`:
a parser whose errors are one line, the exit status of a command's work, whole-number arguments."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from rich.console import Console

from qa.errors import QAError

__all__ = ["ArgumentParser", "console", "error_console", "exit_status", "whole_number"]

# Soft wrap: a long path or line piped to a file stays whole instead of being cut at 80 columns.
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the one-line errors of the rest of `qa` (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"qa: error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def exit_status(work: Callable[[], int]) -> int:
    """The exit status of a command's `work`: a QAError is one `qa: error:` line (1), a closed
    output pipe a quiet 1, Ctrl-C 130. `qa` and the `python -m qa.…` tools all end here."""
    try:
        status = work()
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's shutdown
    except QAError as error:
        error_console.print(f"qa: error: {error}", markup=False, highlight=False)
        return 1
    except BrokenPipeError:
        # The reader went away (`qa ask --json ... | head`): stop quietly, as rich does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def whole_number(lowest: int, highest: int | None = None) -> Callable[[str], int]:
    """An argparse `type` for a whole number in a range, with a readable refusal."""
    bounds = f"from {lowest} to {highest}" if highest is not None else f"of at least {lowest}"

    def parse(value: str) -> int:
        number = int(value) if value.isdigit() else lowest - 1
        if number < lowest or (highest is not None and number > highest):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds} (got {value!r})")
        return number

    return parse
