"""How a visitor is told that something went wrong, for both tabs."""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Callable

import gradio as gr

from ..errors import UserError

# What a visitor is told in the page (gr.Error), never as a traceback: the family of errors a
# user can fix (errors.UserError: a bad clip, mask, setting, weights file...), and an OSError,
# which is the server's (a full disk, a file gone): shown so the visitor knows to try again, and
# logged with its traceback. Anything else is a fault of the program: Gradio shows "Error" and
# the traceback reaches the log, not the visitor as if it were their fault.
VISITOR_ERRORS = (UserError, OSError)

log = logging.getLogger(__name__)


def _shown(err: Exception) -> gr.Error:
    if not isinstance(err, UserError):
        log.error("the server failed while serving a visitor", exc_info=err)
    return gr.Error(str(err), print_exception=False)


def visitor_errors(fn: Callable) -> Callable:
    """Turn a visitor's error into a message in the UI (gr.Error) instead of a server traceback."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except VISITOR_ERRORS as err:
                raise _shown(err) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except VISITOR_ERRORS as err:
            raise _shown(err) from None

    return wrapper
