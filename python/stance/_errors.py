"""The exceptions of the stance package.

Defined here, in Python, so that InputError can be both a StanceError and a
ValueError; the Rust extension (stance._native) imports and raises them with
the library's own messages.
"""


class StanceError(Exception):
    """Base class of every error the stance package raises."""


class ModelError(StanceError):
    """A model file cannot be read, is corrupted, or is of an unsupported format version."""


class InputError(StanceError, ValueError):
    """Input that cannot be scored: not a str, empty text, missing column (names the index or column)."""
