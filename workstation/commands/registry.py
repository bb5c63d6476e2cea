"""Named commands: the single source of truth for what the user can do.

A command has a dotted id (``case.file``), a title and a menu it belongs to. The window binds
handlers to ids; menus, shortcuts, the command palette, the cheat sheet and the README's key table
are all generated from this list and the keymap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from workstation.domain.lifecycle import N_


@dataclass(frozen=True)
class Command:
    """One thing the user can do."""

    id: str
    title: str  # English source, translated when shown
    menu: str  # menu id: case, queue, view, go, help, session
    help: str = ""
    scope: str = "desk"  # which window offers it: desk (operators), station, demo, any


MENUS: dict[str, str] = {
    "session": N_("&Session"),
    "case": N_("&Case"),
    "queue": N_("&Queue"),
    "care": N_("C&are"),
    "integration": N_("&Integration"),
    "training": N_("&Training"),
    "view": N_("&View"),
    "help": N_("&Help"),
}

COMMANDS: list[Command] = [
    Command("case.file", N_("File under a category…"), "case", N_("Pick the category; then the dispatch picker opens")),
    Command("case.dispatch", N_("Dispatch…"), "case", N_("Dispatch or re-dispatch to a unit")),
    Command("case.add_unit", N_("Add a co-unit…"), "case", N_("Add a unit that works on the case too (加派)")),
    Command("case.reject", N_("Reject…"), "case", N_("Reject with a reason")),
    Command("case.merge", N_("Merge into a duplicate…"), "case", N_("Merge into the case this one duplicates")),
    Command("case.verify", N_("Send to verification"), "case", N_("Ask the grid member on site to confirm")),
    Command("case.close", N_("Close"), "case", N_("Close a verified case")),
    Command("case.rework", N_("Send back for rework…"), "case", N_("Verification failed: back to the unit")),
    Command("case.extension", N_("Decide extension…"), "case", N_("Approve or refuse a unit's extension request")),
    Command("case.undo", N_("Undo last action"), "case", N_("Undo your last action within 30 seconds")),
    Command("queue.next", N_("Next case"), "queue"),
    Command("queue.previous", N_("Previous case"), "queue"),
    Command("queue.search", N_("Search…"), "queue", N_("Search the current queue")),
    Command("queue.new", N_("New reports"), "queue"),
    Command("queue.returned", N_("Returned by units"), "queue"),
    Command("queue.verify", N_("To verify"), "queue"),
    Command("queue.overdue", N_("Overdue"), "queue"),
    Command("queue.mine", N_("My recent actions"), "queue"),
    Command("queue.all", N_("All cases"), "queue"),
    Command("queue.save_filter", N_("Save this filter…"), "queue"),
    Command("queue.saved_filters", N_("Saved filters…"), "queue"),
    Command("queue.export", N_("Export the list…"), "queue", N_("Write the current list to a CSV file")),
    Command("queue.refresh", N_("Refresh"), "queue"),
    Command(
        "queue.hotspots",
        N_("Hot spots (repeat complaints)…"),
        "queue",
        N_("Places where one problem was reported 3 times in 30 days: for the 4+X joint team"),
    ),
    Command(
        "intake.outbox",
        N_("Outbox…"),
        "integration",
        N_("Messages to the units' systems: sent, pending, failed"),
        scope="intake",
    ),
    Command(
        "intake.quarantine",
        N_("Quarantine…"),
        "integration",
        N_("Incoming items that could not be read"),
        scope="intake",
    ),
    Command("intake.poll", N_("Poll the sources now"), "integration", scope="intake"),
    Command("care.worklist", N_("Visit worklist"), "care", scope="station"),
    Command("care.next", N_("Next person"), "care", scope="station"),
    Command("care.previous", N_("Previous person"), "care", scope="station"),
    Command("care.search", N_("Search people…"), "care", scope="station"),
    Command("care.record_visit", N_("Record a visit…"), "care", scope="station"),
    Command(
        "care.raise_case",
        N_("Raise a case from a need…"),
        "care",
        scope="station",
        help=N_("The need becomes a case in the operator queue (走访发现)"),
    ),
    Command("care.major_change", N_("Record a major change…"), "care", scope="station"),
    Command(
        "care.reveal",
        N_("Reveal a masked field…"),
        "care",
        scope="station",
        help=N_("Needs a reason; every reveal is recorded"),
    ),
    Command("care.coverage", N_("Coverage by grid"), "care", scope="station"),
    Command("care.export", N_("Export the visit ledger…"), "care", scope="station"),
    Command("care.import", N_("Import a roster from Excel…"), "care", scope="station"),
    Command("demo.pause", N_("Pause / resume the simulation"), "training", scope="demo"),
    Command("demo.faster", N_("Faster"), "training", scope="demo"),
    Command("demo.slower", N_("Slower"), "training", scope="demo"),
    Command("demo.inject", N_("Inject an event…"), "training", scope="demo"),
    Command("demo.scenario", N_("Start a scenario…"), "training", scope="demo"),
    Command("demo.score", N_("Score of this run"), "training", scope="demo"),
    Command("demo.reset", N_("Reset the training world"), "training", scope="demo"),
    Command("view.palette", N_("Command palette…"), "view", N_("Every command, with its key"), scope="any"),
    Command("view.focus_queue", N_("Focus the queue"), "view"),
    Command("view.focus_case", N_("Focus the case"), "view"),
    Command("help.cheatsheet", N_("Keyboard cheat sheet"), "help", scope="any"),
    Command("help.about", N_("About"), "help", scope="any"),
    Command("session.lock", N_("Lock the seat"), "session", scope="any"),
    Command("session.sign_out", N_("Sign out"), "session", scope="any"),
    Command("session.quit", N_("Quit"), "session", scope="any"),
]

BY_ID: dict[str, Command] = {c.id: c for c in COMMANDS}


def register(command: Command) -> None:
    """Add a command (modules such as the station workspace add theirs)."""
    if command.id in BY_ID:
        raise ValueError(f"command {command.id} is registered twice")
    COMMANDS.append(command)
    BY_ID[command.id] = command


def get(command_id: str) -> Command:
    """The command of that id."""
    return BY_ID[command_id]


def all_commands(scopes: Iterable[str] | None = None) -> Iterator[Command]:
    """Every command (of these scopes), in menu order."""
    wanted = None if scopes is None else set(scopes) | {"any"}
    for command in COMMANDS:
        if wanted is None or command.scope in wanted:
            yield command


Handler = Callable[[], None]
