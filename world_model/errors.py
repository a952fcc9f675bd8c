"""Raise the project's `UserError` without importing `envs` (and its simulators) up front."""

from __future__ import annotations


def user_error(message: str) -> Exception:
    """An `envs.errors.UserError` carrying `message` as one line; `raise user_error("...")`."""
    from envs.errors import UserError

    return UserError(" ".join(message.split()))
