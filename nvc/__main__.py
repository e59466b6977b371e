"""``python -m nvc`` and the ``nvc`` command.

The CLI's imports (torch above all) take seconds; a Ctrl-C during them ends the command like one
later on: exit 130 (128 + SIGINT, the CLI's EXIT_INTERRUPTED), one line, no traceback.
"""

import signal
import sys


def run() -> None:
    try:
        from nvc.codec.cli import main
    except KeyboardInterrupt:
        print("nvc: interrupted", file=sys.stderr)
        sys.exit(128 + signal.SIGINT)
    sys.exit(main())


if __name__ == "__main__":
    run()
