"""The program speaks Chinese: every user-visible string has a translation that keeps its fields."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import workstation
from workstation import i18n
from workstation.i18n_scan import scan

PACKAGE = Path(workstation.__file__).resolve().parent


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_user_visible_string_has_a_chinese_translation():
    catalogue = i18n.catalogue("zh_CN")
    missing = {text: where[0] for text, where in scan(PACKAGE).items() if not catalogue.get(text)}
    assert not missing, f"{len(missing)} strings without a Chinese translation, e.g. {list(missing.items())[:5]}"


def test_translations_keep_their_fields():
    catalogue = i18n.catalogue("zh_CN")
    wrong = {k: v for k, v in catalogue.items() if fields(k) != fields(v)}
    assert not wrong


def test_no_translation_is_built_from_an_f_string():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"tr", "N_"}
                and node.args
                and isinstance(node.args[0], ast.JoinedStr)
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders


def test_chinese_is_the_default_and_english_on_request(monkeypatch):
    try:
        i18n.set_language("zh_CN")
        assert i18n.state_label("reported") == "待受理"
        assert i18n.tr("Case {id} filed as {code}.", id=7, code="0201").count("7") == 1
        i18n.set_language("en")
        assert i18n.state_label("reported") == "new"
    finally:
        i18n.set_language("en")
