"""The one exception type for bad user input (unknown id, missing file, wrong sizes).

The CLI turns it into a single line on stderr and a non-zero exit; library callers can catch it.
"""


class UserError(Exception):
    """Input from the user that cannot be used, with a message that says what to do."""
