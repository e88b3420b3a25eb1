"""PySide6 windows, models and workers: the only layer that imports Qt."""
