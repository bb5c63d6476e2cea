"""Packaging glue: ships the top-level ``resources/`` folder inside the package as ``workstation.resources``.

Everything else is declared in ``pyproject.toml``.
"""

from setuptools import find_namespace_packages, find_packages, setup

packages = find_packages(include=["workstation", "workstation.*"])
resource_packages = ["workstation.resources"] + [
    "workstation.resources." + sub for sub in find_namespace_packages(where="resources")
]
setup(
    packages=packages + resource_packages,
    package_dir={"workstation.resources": "resources"},
)
