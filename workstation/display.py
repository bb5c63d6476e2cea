"""Whether the window can be shown here: found before Qt starts, which would abort without a word.

Qt's ``xcb`` platform plugin aborts the process (exit 134) when there is no display or when one of the
X11 libraries it links against is missing. :func:`display_problem` checks both first and says, in the
user's language, what to install or to set instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

from workstation.i18n import tr

# The libraries Qt's xcb plugin loads that a desktop may lack, with the Debian/Ubuntu package of each.
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
)


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds and loads a shared library."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def display_problem(
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    can_load: Callable[[str], bool] = loadable,
) -> str | None:
    """What keeps the window from opening here, as a sentence for the user; None when nothing does.

    Only Linux is checked (Windows and macOS always have their platform plugin). A platform chosen
    with ``QT_QPA_PLATFORM`` other than ``xcb`` is trusted.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if chosen and chosen != "xcb":
        return None
    if not chosen and env.get("WAYLAND_DISPLAY"):
        return None  # a Wayland session: Qt uses its wayland plugin (or XWayland through xcb)
    if not chosen and not env.get("DISPLAY"):
        return tr(
            "No display: the window needs a graphical desktop (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Start it from a desktop session, or set QT_QPA_PLATFORM=offscreen to run without a screen "
            "(nothing is shown), or use the command line: workstation --help."
        )
    missing = [package for soname, package in XCB_LIBRARIES if not can_load(soname)]
    if missing:
        return tr(
            "The window cannot start: Qt's X11 libraries are missing. Install them "
            "(Debian/Ubuntu: sudo apt-get install {packages}), or use the command line: workstation --help.",
            packages=" ".join(missing),
        )
    return None
