"""Operator workstation of a district grid-governance centre."""

__version__ = "0.1.0"
