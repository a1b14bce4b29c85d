"""Errors a user can fix, one family: each message names the file or value and the problem.

Every such error derives from `UserError`, and each front end catches that one class: the
command line (`cli.main`: one line, exit code 2), the app's Clip tab (`app.visitor_errors`:
a message in the page) and its Live tab (a message in the status line). Anything else is a
fault of the program or of the machine and reaches the log with its traceback, never the
user as if it were their fault. The classes keep their built-in bases (`ValueError`,
`RuntimeError`), so a caller's `except ValueError` keeps working.

The family: `InputError`, `VideoError`, `MaskError` here; `CheckpointError` (checkpoint.py),
`WeightsError` (weights.py), `ClickModelError` (clicks/sam2_model.py), `FrameError`
(live/frames.py), `ImageRefused` (video/pillow.py), `UsageError` (cli.py). The app raises
`UserError` itself (a visitor's action that cannot be done).
"""


class UserError(Exception):
    """Bad input or a request that cannot be carried out, which the user can fix; one sentence."""


class VideoError(UserError, ValueError):
    """A video that cannot be read, with the file and the reason."""


class MaskError(UserError, ValueError):
    """A mask that cannot be used (unreadable, wrong size, no object, ...)."""


class InputError(UserError, ValueError):
    """A setting, argument or output place that cannot be used; the message says which and why."""
