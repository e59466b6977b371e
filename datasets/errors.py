"""The one exception nvc.datasets raises for bad video input.

Callers (the CLI, training scripts) catch a single type and print its one-line
message; FFmpeg/PyAV errors and tracebacks never reach the user for bad files.
"""


class VideoInputError(ValueError):
    """A video file or argument that cannot be used: unreadable, unsupported or inconsistent.

    The message is one line naming the file (when there is one) and what is wrong.
    """
