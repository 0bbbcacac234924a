"""Packaging beyond pyproject.toml: `migrations/` stays at the top of the repository (where the
team and `tortoise makemigrations` expect it) but ships inside the wheel as `hadar.migrations`,
so an installed `hadar migrate` finds it from any directory. pyproject.toml cannot combine
package discovery with one relocated subpackage; this file does only that."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hadar", "hadar.*"]), "hadar.migrations"],
    package_dir={"hadar.migrations": "migrations"},
)
