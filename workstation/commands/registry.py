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
    "users": N_("&Users"),
    "calendar": N_("Ca&lendar"),
    "mappings": N_("Service &mappings"),
    "view": N_("&View"),
    "dash": N_("&Supervision"),
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
    # A shift lead's work (scope "lead": the window of leads and trainers).
    Command(
        "case.extension",
        N_("Decide extension…"),
        "case",
        N_("Approve or refuse a unit's extension request"),
        scope="lead",
    ),
    Command("case.supervise", N_("Supervise (督办)…"), "case", N_("Press the unit on an overdue case"), scope="lead"),
    Command(
        "case.suspend",
        N_("Suspend (挂账)…"),
        "case",
        N_("Park a case that cannot be solved in time, with the explanation"),
        scope="lead",
    ),
    Command("case.resume", N_("Resume a suspended case"), "case", N_("Back to the unit (恢复)"), scope="lead"),
    Command(
        "case.reopen",
        N_("Reopen (重新受理)…"),
        "case",
        N_("A rejected or merged report comes back to the queue"),
        scope="lead",
    ),
    # A unit's answer by phone, recorded by the seat on the unit's behalf.
    Command(
        "case.unit_acknowledge",
        N_("Unit acknowledged (by phone)"),
        "case",
        N_("Record the unit's 签收 on its behalf"),
    ),
    Command(
        "case.unit_return",
        N_("Unit returned the case (by phone)…"),
        "case",
        N_("Record the unit's 退回 and its reason on its behalf"),
    ),
    Command(
        "case.unit_result",
        N_("Unit reported its result (by phone)…"),
        "case",
        N_("Record the unit's 处置反馈: what was done, and photos"),
    ),
    Command("case.undo", N_("Undo last action"), "case", N_("Undo your last action within 30 seconds")),
    Command(
        "case.photos",
        N_("Open the photos…"),
        "case",
        N_("The report's and the unit's photos at full size: arrows or n / p move, Esc closes"),
    ),
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
    # The administrator's window (scope "admin", keymap mode "admin").
    Command("admin.users", N_("Users"), "users", N_("Every account: role, community or unit, active"), scope="admin"),
    Command("admin.user_add", N_("Add a user…"), "users", scope="admin"),
    Command(
        "admin.user_active",
        N_("Disable or enable the user"),
        "users",
        N_("A disabled user cannot sign in; the history keeps the name"),
        scope="admin",
    ),
    Command("admin.user_password", N_("Reset the password…"), "users", scope="admin"),
    Command(
        "admin.user_unlock",
        N_("Unlock the sign-in"),
        "users",
        N_("Clear the lock after repeated wrong passwords"),
        scope="admin",
    ),
    Command("admin.user_role", N_("Change the role…"), "users", scope="admin"),
    Command(
        "admin.user_place",
        N_("Set the community or unit…"),
        "users",
        N_("Station staff belong to a community, unit accounts to a unit"),
        scope="admin",
    ),
    Command(
        "admin.calendar",
        N_("Working calendar"),
        "calendar",
        N_("Holidays and make-up working days, per year"),
        scope="admin",
    ),
    Command("admin.calendar_year", N_("Show another year…"), "calendar", scope="admin"),
    Command("admin.holiday_add", N_("Add a holiday…"), "calendar", scope="admin"),
    Command(
        "admin.workday_add",
        N_("Add a make-up working day…"),
        "calendar",
        N_("A weekend day that is worked (调休上班)"),
        scope="admin",
    ),
    Command(
        "admin.day_remove",
        N_("Remove the day"),
        "calendar",
        N_("The selected day becomes an ordinary day again"),
        scope="admin",
    ),
    Command(
        "admin.mappings",
        N_("Service mappings"),
        "mappings",
        N_("Each source's service codes and the categories they map to"),
        scope="admin",
    ),
    Command("admin.mapping_edit", N_("Map to a category…"), "mappings", scope="admin"),
    Command(
        "admin.account_log",
        N_("Account changes"),
        "users",
        N_("Who created, disabled, re-roled or unlocked which account, newest first"),
        scope="admin",
    ),
    Command("admin.search", N_("Search the list…"), "view", scope="admin"),
    Command("admin.export", N_("Export the list…"), "view", N_("Write the list shown to a CSV file"), scope="admin"),
    Command("admin.refresh", N_("Refresh"), "view", scope="admin"),
    # Supervision: opened by a shift lead (and a trainer in demo mode) or an administrator; its views.
    Command(
        "view.supervision",
        N_("Supervision…"),
        "view",
        N_("Live figures, evaluation and the map, every number drills down to its cases"),
        scope="supervise",
    ),
    Command("dash.figures", N_("Figures"), "dash", N_("Reported, filed, closed, rates, overdue"), scope="dash"),
    Command(
        "dash.arrivals", N_("Arrivals per hour"), "dash", N_("Today against the same weekday last week"), scope="dash"
    ),
    Command("dash.queues", N_("Queue depth"), "dash", scope="dash"),
    Command("dash.overdue", N_("Overdue by unit"), "dash", scope="dash"),
    Command("dash.channels", N_("Channel mix"), "dash", scope="dash"),
    Command("dash.categories", N_("Top ten categories"), "dash", scope="dash"),
    Command("dash.care", N_("Care visits by community"), "dash", N_("Due and overdue, the nine groups"), scope="dash"),
    Command(
        "dash.evaluation", N_("Units' evaluation"), "dash", N_("This month, per the evaluation rules"), scope="dash"
    ),
    Command("dash.map", N_("Map"), "dash", N_("The grids coloured by a measure, cases on top"), scope="dash"),
    Command("dash.measure", N_("Next map measure"), "dash", scope="dash"),
    Command("dash.drill", N_("Show the cases behind the number"), "dash", N_("In the queue view"), scope="dash"),
    Command("dash.refresh", N_("Refresh the figures"), "dash", scope="dash"),
    Command("dash.report_xlsx", N_("Monthly report as Excel…"), "dash", scope="dash"),
    Command("dash.report_pdf", N_("Monthly report as PDF…"), "dash", scope="dash"),
    Command("dash.close", N_("Close supervision"), "dash", scope="dash"),
    Command("wall.next", N_("Next view"), "view", scope="wall"),
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

MODES: dict[str, str] = {"station": "station", "admin": "admin", "dash": "dash", "wall": "wall"}
"""The keymap mode of each window's scope; every other scope works in the operator's "queue" mode."""


def mode_of(command: Command) -> str:
    """The keymap mode a command's keys are looked up in."""
    return MODES.get(command.scope, "queue")


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
