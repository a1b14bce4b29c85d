"""Errors for bad input that users can fix; each message names the file or value and the problem."""


class VideoError(ValueError):
    """A video that cannot be read, with the file and the reason."""


class MaskError(ValueError):
    """A mask that cannot be used (unreadable, wrong size, no object, ...)."""


class InputError(ValueError):
    """A setting, argument or output place that cannot be used; the message says which and why."""
