"""Key effects of the suggestion engine's commands, for the registry-wide key harness."""

from __future__ import annotations

from tests.key_harness import KeyEffect, KeyEnv


def _no_hot_spots_said(env: KeyEnv) -> None:
    from workstation.i18n import tr

    env.qtbot.waitUntil(lambda: tr("No hot spots in the last 30 days.") in env.window.message.text(), timeout=3000)


EFFECTS: dict[str, KeyEffect] = {
    # with no repeat complaints in the database, the window says so (with some, a picker lists them:
    # tests/test_assist_ui.py drives that path)
    "queue.hotspots": KeyEffect(check=_no_hot_spots_said),
}
