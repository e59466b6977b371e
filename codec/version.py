"""Package version (the bitstream's own version lives in container.FORMAT_VERSION)."""

__version__ = "0.1.0"
