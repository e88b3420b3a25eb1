"""Packaging beyond what pyproject.toml can say: the top-level resources/ folder ships as segdesk.resources.

pyproject.toml's package finder only finds packages under their own folders, so
the mapped one is added here (setuptools merges this with pyproject.toml,
whose package-data lists the files it carries).
"""

from setuptools import find_namespace_packages, setup

setup(
    # Namespace packages too, as pyproject.toml's finder does: collector_relay/static is one.
    packages=[*find_namespace_packages(include=["segdesk", "segdesk.*"]), "segdesk.resources", "segdesk.resources.icons"],
    package_dir={"segdesk.resources": "resources"},
)
