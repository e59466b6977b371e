"""nvc: a neural implicit video codec."""
__version__ = "0.1.0"
