"""Qt's own texts (standard buttons, file dialogs, context menus) in the language the program speaks."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from workstation.domain.lifecycle import N_
from workstation.i18n import catalogue, language

# Texts of Qt's own dialogs that its Chinese translation lacks: (context, source) -> our source string.
QT_GAPS = {
    ("QFileDialog", "&Look in:"): N_("&Look in:"),
    ("QFileDialog", "Files of &type:"): N_("Files of &type:"),
    ("QFileSystemModel", "Drive"): N_("Drive"),
    ("QFileDialog", "Drive"): N_("Drive"),
}


class GapTranslator(QTranslator):
    """Fills the gaps of Qt's own translation from the program's catalogue."""

    def __init__(self, parent: QApplication) -> None:
        super().__init__(parent)
        self.texts = catalogue(language())

    def isEmpty(self) -> bool:  # noqa: D102  (Qt override)
        return False

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:  # noqa: D102
        key = QT_GAPS.get((context, source))
        return self.texts.get(key, "") if key else ""


def apply_language(app: QApplication) -> list[QTranslator]:
    """Load Qt's translation for the language in force (and fill its gaps); returns the installed translators."""
    if language() != "zh_CN":
        return []
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    installed: list[QTranslator] = []
    qt_tr = QTranslator(app)
    if qt_tr.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_tr)
        installed.append(qt_tr)
    gaps = GapTranslator(app)
    app.installTranslator(gaps)  # installed last: asked first, answers only its few texts
    installed.append(gaps)
    return installed
