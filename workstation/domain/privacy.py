"""Masking of sensitive personal information (PIPL Art. 28): phones, identity numbers, names of minors."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``13812345678`` -> ``138****5678``; short numbers keep only their last two digits."""
    digits = (phone or "").strip()
    if not digits:
        return ""
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_id(number: str | None) -> str:
    """An identity number: the first 6 and the last 4 characters, the rest as ``*``."""
    text = (number or "").strip()
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(name: str | None) -> str:
    """A minor's name: the surname and ``*`` for each other character."""
    text = (name or "").strip()
    return text[:1] + "*" * (len(text) - 1) if text else ""
