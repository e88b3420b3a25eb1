"""SegDesk: marketing analytics that runs on the marketer's own computer."""

__version__ = "0.1.0"
