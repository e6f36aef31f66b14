"""Errors a user can cause and fix; the CLI prints them as one line, never a traceback."""


class UserError(Exception):
    """Bad input (config, problem, URL, run name): the message names the fix."""
