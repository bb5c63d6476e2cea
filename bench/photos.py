"""What showing a case's photos costs a seat: reading a case's photo states, and making a thumbnail.

    python bench/photos.py

Stores one camera-sized JPEG (4000×3000, as a phone sends it) and one demo picture in a fresh SQLite
database, gives a case four photo references, then times: ``case_photos`` (the states the panel reads
on every selection), loading the bytes, and a thumbnail decoded at full size then scaled, against one
decoded straight at thumbnail size (``QImageReader.setScaledSize``, what the panel does).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # bench/queue.py is not the standard library's queue
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QApplication

from workstation.demo.pictures import picture
from workstation.services import photos
from workstation.services.reports import add_report
from workstation.storage.bootstrap import open_database
from workstation.ui.photo_view import THUMB, PixmapCache

REPEAT = 20


def camera_jpeg() -> bytes:
    image = QImage(4000, 3000, QImage.Format.Format_RGB32)
    image.fill(QColor(120, 160, 200))
    painter = QPainter(image)
    for i in range(0, 4000, 40):  # detail, so the JPEG is not trivially small
        painter.fillRect(i, (i * 7) % 3000, 40, 300, QColor((i * 13) % 255, (i * 7) % 255, (i * 3) % 255))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG", 85)
    return bytes(data.data())


def timed(fn: Callable[[], object]) -> float:
    runs = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert app is not None
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(str(Path(folder) / "bench.sqlite"))
        big = camera_jpeg()
        refs = ["photo://bench/big.jpg", "photo://bench/small.png", "photo://bench/3.jpg", "https://x.invalid/4.jpg"]
        photos.put(db, refs[0], big)
        photos.put(db, refs[1], picture(0, "before"))
        report = {"channel": "PDA", "text": "bench", "grid": "塘西河网格", "received_at": "2026-06-04T10:19:00+08:00"}
        cid = add_report(db, {**report, "photos": refs}).case_id
        views = photos.case_photos(db, cid)
        sha = views[0].blob
        assert sha is not None

        def full_then_scaled() -> None:
            pixmap = QPixmap()
            pixmap.loadFromData(photos.blob_data(db, sha) or b"")
            pixmap.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)

        def scaled_decode() -> None:
            PixmapCache(lambda s: photos.blob_data(db, s)).thumb(sha)

        rows = [
            ("case_photos (4 references)", timed(lambda: photos.case_photos(db, cid))),
            (f"load the bytes ({len(big) // 1024} KB)", timed(lambda: photos.blob_data(db, sha))),
            ("thumbnail: decode 4000×3000, then scale", timed(full_then_scaled)),
            ("thumbnail: decode at thumbnail size", timed(scaled_decode)),
        ]
        db.dispose()
    print(f"{'step':<42} {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<42} {ms:>10.1f}")


if __name__ == "__main__":
    main()
