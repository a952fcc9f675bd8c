"""The one exception type for bad user input (unknown id, missing file, wrong sizes), and
`env_call`, which turns an env's own exception into one.

The CLI turns a UserError into a single line on stderr and a non-zero exit; library callers can
catch it.
"""

from __future__ import annotations

import os
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UserError(Exception):
    """Input from the user that cannot be used, with a message that says what to do."""


def env_call(env_id: str, call: Callable, *args: Any, at: str, log: Path | None = None,
             then: Callable[[], str] | None = None, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)` on an env. An exception there (a plug-in env's bug, a simulator
    instability, a vector env's worker) becomes one UserError line: the env, the exception,
    `at` (where it happened) and, from `then`, what to do next; the full traceback, with the
    workers' own, goes to `log` (written whole, by a rename) or to a new temporary file."""
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return call(*args, **kwargs)
    except UserError:
        caught = []  # a worker's trace of it: the message says what is wrong
        raise
    except Exception as err:
        worker = "".join(f"{w.message}\n" for w in caught)  # AsyncVectorEnv's trace
        caught = []
        text = (worker + traceback.format_exc()).encode()
        directory = None if log is None else log.parent
        handle, name = tempfile.mkstemp(prefix="wmpc-error-", suffix=".log", dir=directory)
        with os.fdopen(handle, "wb") as f:
            f.write(text)
        if log is not None:
            os.replace(name, log)
        next_step = f"; {then()}" if then is not None else ""
        raise UserError(f"{env_id} raised {type(err).__name__}: {err} {at}; traceback in "
                        f"{log or name}{next_step}") from None
    finally:
        for w in caught:  # the env's own warnings, through the filters as they would have been
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
