"""Case photos in the window: thumbnails beside each other (before | after) and a full-size viewer.

``PhotoStrip`` sits under the case text: on the left the report's photos (before), on the right the
unit's result photos (after), so a verifier compares them at a glance. A photo that could not be
fetched shows a red mark with the reason in its tooltip; one still to be fetched says so.
``PhotoViewer`` opens full size by keyboard (←/→, n/p, Home/End move; Escape closes), non-modal to
the event loop (``open()``), so the background work goes on while it is shown.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workstation.i18n import tr
from workstation.services import photos
from workstation.services.photos import PhotoView

THUMB = QSize(112, 84)
SPACING, BOX_MARGIN, MORE_WIDTH = 6, 4, 64
Loader = Callable[[str], bytes | None]


class PixmapCache:
    """Decoded images by content hash, full size and as thumbnails; the least recently used go first."""

    def __init__(self, load: Loader, size: int = 64) -> None:
        self.load, self.size = load, size
        self.full: OrderedDict[str, QPixmap] = OrderedDict()
        self.thumbs: OrderedDict[str, QPixmap] = OrderedDict()

    def pixmap(self, sha: str) -> QPixmap:
        """The image at full size (a null pixmap when the bytes are missing or do not decode)."""
        if sha in self.full:
            self.full.move_to_end(sha)
            return self.full[sha]
        pixmap = QPixmap()
        data = self.load(sha)
        if data:
            pixmap.loadFromData(data)
        self.full[sha] = pixmap
        while len(self.full) > 8:  # full-size images are large: keep only a few
            self.full.popitem(last=False)
        return pixmap

    def thumb(self, sha: str) -> QPixmap:
        """The image scaled to fit a thumbnail."""
        if sha in self.thumbs:
            self.thumbs.move_to_end(sha)
            return self.thumbs[sha]
        thumb = QPixmap()
        data = self.load(sha)
        if data:  # decoded straight at thumbnail size: a JPEG is read at a fraction of its pixels
            buffer = QBuffer()
            buffer.setData(QByteArray(data))
            reader = QImageReader(buffer)
            size = reader.size()
            if size.isValid() and (size.width() > THUMB.width() or size.height() > THUMB.height()):
                reader.setScaledSize(size.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio))
            image = reader.read()
            if not image.isNull():
                thumb = QPixmap.fromImage(image)
        self.thumbs[sha] = thumb
        while len(self.thumbs) > self.size:
            self.thumbs.popitem(last=False)
        return thumb


def kind_label(kind: str) -> str:
    """The side a photo belongs to (before or after), as the window says it."""
    return tr("Reported (before)") if kind == photos.BEFORE else tr("Unit's result (after)")


def state_text(view: PhotoView) -> str:
    """What is wrong with a photo that cannot be shown ("" when it can)."""
    if view.stored:
        return ""
    if view.state == photos.PENDING:
        if view.attempts:
            return tr("not fetched yet: will try again ({reason})", reason=view.reason)
        return tr("not fetched yet")
    return tr("could not be fetched: {reason}", reason=view.reason)


class PhotoStrip(QWidget):
    """The case's photos as thumbnails: the report's on the left half, the unit's on the right half.

    Each half shows as many thumbnails as fit its width, and "+N more" for the rest (the viewer shows
    them all), so the after-photos stay in view beside the before-photos however narrow the panel.
    A click on a thumbnail emits ``opened`` with the photo's index (the viewer opens there).
    """

    opened = Signal(int)

    def __init__(self, cache: PixmapCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photoStrip")
        self.cache = cache
        self.views: list[PhotoView] = []
        self.thumbs: list[QLabel] = []
        self.fits: dict[str, int] = {}
        layout = self.outer = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(SPACING)
        self.sides: dict[str, QHBoxLayout] = {}
        self.titles: dict[str, QLabel] = {}
        for kind in (photos.BEFORE, photos.AFTER):
            box = QFrame()
            box.setObjectName(f"photos_{kind}")
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # halves, whatever inside
            column = QVBoxLayout(box)
            column.setContentsMargins(BOX_MARGIN, 2, BOX_MARGIN, 2)
            title = QLabel()
            title.setObjectName("photoSideTitle")
            column.addWidget(title)
            row = QHBoxLayout()
            row.setSpacing(SPACING)
            column.addLayout(row)
            column.addStretch(1)
            self.sides[kind], self.titles[kind] = row, title
            layout.addWidget(box, 1)
        self.show_views([])

    def capacity(self, count: int) -> int:
        """How many of ``count`` thumbnails fit one half at the strip's width (at least one)."""
        half = (self.width() - SPACING) // 2 - 2 * BOX_MARGIN
        each = THUMB.width() + 6 + SPACING
        fit = max(1, (half + SPACING) // each)
        if count > fit:  # room for the "+N more" label too
            fit = max(1, (half + SPACING - MORE_WIDTH) // each)
        return fit

    def show_views(self, views: Sequence[PhotoView]) -> None:
        """Show these photos (hidden when there are none)."""
        self.views = list(views)
        self._lay_out()
        self.setVisible(bool(self.views))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Show as many thumbnails as the new width holds."""
        super().resizeEvent(event)
        if self.views and self.fits != self._fits():
            self._lay_out()

    def _fits(self) -> dict[str, int]:
        return {kind: self.capacity(sum(1 for v in self.views if v.kind == kind)) for kind in self.sides}

    def _lay_out(self) -> None:
        self.thumbs = []
        self.fits = self._fits()
        for row in self.sides.values():
            while row.count():
                item = row.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        for kind, row in self.sides.items():
            mine = [(i, v) for i, v in enumerate(self.views) if v.kind == kind]
            failed = sum(1 for _, v in mine if not v.stored and v.state == photos.FAILED)
            self.titles[kind].setText(f"{kind_label(kind)} · {len(mine)}" + (f" · ⚠ {failed}" if failed else ""))
            if not mine:
                empty = QLabel(tr("no photos"))
                empty.setObjectName("photoNone")
                row.addWidget(empty)
            shown = self.fits[kind]
            for index, view in mine[:shown]:
                label = self._thumb(index, view)
                self.thumbs.append(label)
                row.addWidget(label)
            if len(mine) > shown:
                more = QLabel(tr("+{n} more", n=len(mine) - shown))
                more.setObjectName("photoMore")
                row.addWidget(more)
            row.addStretch(1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A click on a thumbnail opens it."""
        if event.type() == QEvent.Type.MouseButtonRelease and watched in self.thumbs:
            self.opened.emit(int(watched.property("index")))
            return True
        return False

    def _thumb(self, index: int, view: PhotoView) -> QLabel:
        label = QLabel()
        label.installEventFilter(self)
        label.setCursor(Qt.CursorShape.PointingHandCursor)
        label.setObjectName("photoThumb")
        label.setFixedSize(THUMB + QSize(6, 6))
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setProperty("index", index)
        problem = state_text(view)
        pixmap = self.cache.thumb(view.blob) if view.stored and view.blob else QPixmap()
        if not problem and pixmap.isNull():
            problem = tr("could not be fetched: {reason}", reason=tr("the stored bytes do not decode"))
        if problem:
            label.setProperty("state", "failed" if view.state == photos.FAILED or view.stored else "pending")
            label.setWordWrap(True)
            if view.state != photos.PENDING:
                mark = "⚠ " + tr("not fetched")
            else:
                mark = "… " + (tr("will try again") if view.attempts else tr("fetching"))
            label.setText(mark)
            label.setToolTip(f"{view.ref}\n{problem}")
        else:
            label.setProperty("state", "stored")
            label.setPixmap(pixmap)
            label.setToolTip(f"{view.ref}\n{view.width}×{view.height}")
        return label


class PhotoViewer(QDialog):
    """One case's photos at full size; the keys move between them, Escape closes."""

    def __init__(
        self,
        case_id: int,
        views: Sequence[PhotoView],
        cache: PixmapCache,
        start: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("photoViewer")
        self.setWindowTitle(tr("Photos of case {id}", id=case_id))
        self.views, self.cache = list(views), cache
        self.index = 0
        self.image = QLabel()
        self.image.setObjectName("photoImage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 240)
        self.image.setWordWrap(True)
        self.caption = QLabel()
        self.caption.setObjectName("photoCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        hint = QLabel(tr("← → or n / p: previous / next photo · Esc: close"))
        hint.setObjectName("photoHint")
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.caption)
        layout.addWidget(hint)
        if parent is not None:
            self.resize(max(640, parent.width() * 3 // 4), max(480, parent.height() * 3 // 4))
        else:
            self.resize(900, 680)
        self.show_index(start)

    @property
    def current(self) -> PhotoView:
        """The photo shown."""
        return self.views[self.index]

    def show_index(self, index: int) -> None:
        """Show one photo (clamped to the first and last)."""
        self.index = max(0, min(index, len(self.views) - 1))
        view = self.current
        mine = [v for v in self.views if v.kind == view.kind]
        size = f" · {view.width}×{view.height}" if view.stored else ""
        self.caption.setText(
            f"{kind_label(view.kind)} {mine.index(view) + 1}/{len(mine)} · "
            + tr("photo {n} of {total}", n=self.index + 1, total=len(self.views))
            + f"{size} · {view.ref}"
        )
        self._paint()

    def _paint(self) -> None:
        view = self.current
        problem = state_text(view)
        pixmap = self.cache.pixmap(view.blob) if view.stored and view.blob else QPixmap()
        if not problem and pixmap.isNull():
            problem = tr("could not be fetched: {reason}", reason=tr("the stored bytes do not decode"))
        if problem:
            self.image.setPixmap(QPixmap())
            self.image.setText("⚠ " + problem)
            self.image.setProperty("state", "failed")
            return
        self.image.setProperty("state", "stored")
        area = self.image.size()
        factor = min(area.width() / pixmap.width(), area.height() / pixmap.height(), 3.0)  # small ones: up to 3×
        if abs(factor - 1.0) > 0.01:
            size = QSize(int(pixmap.width() * factor), int(pixmap.height() * factor))
            pixmap = pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pixmap)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """←/→, n/p, j/k, PageUp/PageDown, Home/End move; Escape closes (QDialog)."""
        key = event.key()
        K = Qt.Key
        if key in (K.Key_Right, K.Key_Down, K.Key_N, K.Key_J, K.Key_PageDown, K.Key_Space):
            self.show_index(self.index + 1)
        elif key in (K.Key_Left, K.Key_Up, K.Key_P, K.Key_K, K.Key_PageUp, K.Key_Backspace):
            self.show_index(self.index - 1)
        elif key == K.Key_Home:
            self.show_index(0)
        elif key == K.Key_End:
            self.show_index(len(self.views) - 1)
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Fit the photo to the new size."""
        super().resizeEvent(event)
        if self.views:
            self._paint()
