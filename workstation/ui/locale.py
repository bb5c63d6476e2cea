"""Qt's own texts (standard buttons, file dialogs, context menus) in the language the program speaks."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from workstation.i18n import language


def apply_language(app: QApplication) -> QTranslator | None:
    """Load Qt's translation for the language in force; returns the installed translator (None for English)."""
    if language() != "zh_CN":
        return None
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    qt_tr = QTranslator(app)
    if not qt_tr.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        return None
    app.installTranslator(qt_tr)
    return qt_tr
