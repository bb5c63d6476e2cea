"""No English in the Chinese command line: every command, run as a user would, and every ``--help``.

The commands are found by walking the argument parser, so a new command is covered automatically:
it fails here until ``INVOCATIONS`` has a realistic invocation for it. The invocations run in order
on one seeded database, as a day's work: reports come in, are filed, dispatched, handled, verified;
the care roster is imported and visited; other systems' reports are imported and quarantined.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.care_support import roster_xlsx, valid_id
from tests.conftest import PASSWORD, article_report, run_cli
from tests.test_intake_feed import Feed, three_pages
from tests.untranslated import english_lines, report
from workstation.cli import build_parser
from workstation.demo.scenarios import TOP_KEYS, list_scenarios
from workstation.demo.world import DEMO_PASSWORD
from workstation.domain.care import AREAS
from workstation.i18n import set_language
from workstation.intake.targets import set_target
from workstation.models import Case, utcnow
from workstation.services import accounts
from workstation.storage.bootstrap import open_database

# What the user types, shown in --help as examples: the limit syntax (``--limit 4wh``) and the
# observation areas of ``care visit --obs health=concern``.
TYPED = {"30m", "2h", "4wh", "2wd", *AREAS}


@dataclass(frozen=True)
class As:
    """The user a command runs as: expanded by :func:`credentials` into the proof the CLI wants."""

    name: str
    password: str = PASSWORD


def credentials(user: As) -> list[str]:
    """The arguments that name ``user`` as the actor; ``run_cli`` adds the proof (the password)."""
    return ["--as", user.name]


def stdin_for(argv: list[str]) -> str:
    """What a command reads from standard input."""
    if argv[:2] == ["user", "add"]:
        return PASSWORD + "\n"
    if argv[:2] == ["assist", "suggest"]:
        return "洞庭湖路与嵩山路交口向西10米，路南侧有非机动车乱停放\n"
    return ""


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command of the parser tree (a parser without sub-commands), with its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs and path:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from leaves(child, (*path, name))


def areas(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree, leaves and the areas that group them."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from areas(child, (*path, name))


def codes_of(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> set[str]:
    """What the user types and help shows verbatim: command names, choices."""
    out = {"workstation", *path}
    for action in parser._actions:
        if action.choices:
            out.update(str(c) for c in action.choices)
        if isinstance(action.default, str):  # a default value is what the user would type
            out.update(re.findall(r"[A-Za-z_]+", action.default))
        if isinstance(action.metavar, str):  # e.g. AREA=ok|concern[:NOTE]: what the user types
            out.update(re.findall(r"[A-Za-z_]+", action.metavar))
    return out


SCENARIO_IDS = [s.name for s in list_scenarios()]
# Names the user gave in a data file or settings file, shown back verbatim: the fields of an Open311
# request and of a scenario file, the source named in the settings file and its kind.
DATA_NAMES = {
    "serve": {"host", "port"},  # the settings file's serve.host and serve.port
    "intake open311": {"requested_datetime"},
    "intake quarantine list": {"requested_datetime"},
    "intake quarantine show": {"requested_datetime"},
    "intake quarantine reprocess": {"requested_datetime"},
    "intake run": {"district", "platform"},
    "intake status": {"district", "platform"},
    "demo check": {"name", *TOP_KEYS},
    "demo scenarios": set(SCENARIO_IDS),
}

# Commands whose output is a script for another program, not text for a person: the SQL of
# ``db roles --print-sql`` is piped into psql.
SCRIPT_OUTPUT = {"db roles"}

# One realistic invocation per command, in the order of a working day. Placeholders: {name} from the
# world below; As(user) for the acting user.
INVOCATIONS: dict[str, tuple[object, ...]] = {
    "db upgrade": (),
    "db roles": ("--print-sql",),
    "serve": ("--host", "256.0.0.1", As("admin1")),  # an address that cannot be: the refusal, in Chinese
    "catalogue list": (),
    "calendar due": ("--from", "2026-11-27T17:30:00+08:00", "--limit", "4wh"),
    "calendar show": ("--year", "2026"),
    "calendar set": ("2026-12-31", "holiday", As("admin1")),
    "user add": ("op2", "--role", "operator", "--display-name", "王芳", "--password-stdin", As("admin1")),
    "user list": (As("admin1"),),
    "user history": (As("admin1"),),
    "user token add": ("op1", "--name", "对接系统", As("admin1")),
    "user token list": (As("admin1"),),
    "user token revoke": ("1", As("admin1")),
    "user unlock": ("op1", As("admin1")),
    "report add": ("{reports}", As("op1")),
    "case list": ("--status", "reported", As("op1")),
    "case file": ("1", "--category", "0201", As("op1")),
    "case dispatch": ("1", As("op1")),
    "case add-unit": ("1", "--unit", "{unit}", As("op1")),
    "case acknowledge": ("1", As("unit1")),
    "case request-extension": ("1", "--limit", "2wd", "--reason", "需协调城管执法", As("unit1")),
    "case decide-extension": ("1", "--approve", As("lead1")),
    "case supervise": ("4", "--note", "请尽快处置", As("lead1")),
    "case suspend": ("4", "--reason", "等待施工单位进场", As("lead1")),
    "case resume": ("4", As("lead1")),
    "case handle": ("1", "--result", "已清理归位", "--photo", "photo://case1/after1.jpg", As("unit1")),
    "case rework": ("1", "--reason", "现场仍有车辆乱停", "--limit", "4wh", As("op1")),
    "case verify": ("5", "--verifier", "李网格员", As("op1")),
    "case close": ("5", "--note", "核查属实", As("op1")),
    "case reject": ("2", "--reason", "信息不全，无法定位", As("op1")),
    "case reopen": ("2", "--reason", "补充了地址", As("lead1")),
    "case merge": ("3", "--into", "2", As("op1")),
    "case return": ("6", "--reason", "非本单位职责", As("unit1")),
    "case undo": ("6", As("unit1")),
    "case show": ("1", As("op1")),
    "photos show": ("1", As("op1")),
    "photos put": ("photo://case1/after1.jpg", "{image}", As("unit1")),
    "photos retry": ("photo://case1/after1.jpg", As("op1")),
    "photos fetch": (As("op1"),),
    "case export": ("--format", "csv", "--out", "{export_csv}", As("op1")),
    "report monthly": ("--month", "2026-11", "--format", "xlsx", "--out", "{monthly_xlsx}", As("lead1")),
    "db check": (As("admin1"),),
    "assist suggest": ("--grid", "塘西河网格"),
    "assist duplicates": ("2",),
    "assist hotspots": ("--days", "30", As("lead1")),
    "assist repeats": ("2", As("op1")),
    "care import": ("{roster}", "--community", "塘西河社区", As("station1")),
    "care add-person": (
        "--name",
        "赵六",
        "--grid",
        "塘西河网格",
        "--group",
        "G1",
        "--living",
        "alone",
        "--id-number",
        "{id2}",
        As("station1"),
    ),
    "care due": (As("station1"),),
    "care visit": ("{pid}", "--mode", "home", "--met", "yes", "--need", "屋顶漏雨需维修", As("station1")),
    "care person": ("{pid}", As("station1")),
    "care change": ("{pid}", "--kind", "hospital", As("station1")),
    "care campaign": (
        "--title",
        "寒潮",
        "--kind",
        "cold",
        "--group",
        "G1",
        "--street",
        "方兴社区",
        "--deadline",
        "2099-01-01T12:00:00+08:00",
        As("lead1"),
    ),
    "care coverage": (As("station1"),),
    "care reveal": ("{pid}", "--field", "phone", "--reason", "电话回访", As("station1")),
    "care export": ("{ledger}", As("station1")),
    "intake open311": ("{open311}", "--source", "sf311", As("admin1")),
    "intake run": ("--config", "{intake_config}", "--once", As("admin1")),
    "intake status": (),
    "intake mapping list": (),
    "intake mapping set": ("sf311", "006", "0201", As("admin1")),
    "intake quarantine list": (As("op1"),),
    "intake quarantine show": ("1", As("op1")),
    "intake quarantine reprocess": ("1", As("op1")),
    "intake quarantine discard": ("1", "--note", "垃圾数据", As("op1")),
    "outbox list": (As("op1"),),
    "outbox send": ("--config", "{intake_config}", As("admin1")),
    "outbox retry": ("--all-failed", As("op1")),
    "demo scenarios": (),
    "demo check": ("{scenario}",),
    "demo seed": ("--cases", "40", "--people", "10", "--db", "{demo_db}"),
    "demo score": ("1", "--db", "{demo_db}", As("trainer", DEMO_PASSWORD)),  # the demo world's trainer
    "audit verify": (As("admin1"),),
    "audit anchor": (As("admin1"),),
}


def _image(path: Path) -> Path:
    from PySide6.QtGui import QColor, QImage

    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("#4a7"))
    assert image.save(str(path), "JPG")
    return path


def _write_world(tmp_path: Path, httpserver: object) -> dict[str, str]:
    reports = tmp_path / "reports.jsonl"
    texts = [
        article_report(),
        article_report(external_id="PDA-2", text="塘西河网格嵩山路有积存垃圾无人清理", reporter_phone="13900001111"),
        article_report(external_id="PDA-3", text="塘西河网格嵩山路有积存垃圾无人清理，已一周"),
        article_report(external_id="PDA-4", text="洞庭湖路人行道破损，行人易绊倒"),
        article_report(external_id="PDA-5", text="嵩山路路灯不亮"),
        article_report(external_id="PDA-6", text="方兴大道噪音扰民"),
    ]
    reports.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in texts), encoding="utf-8")
    open311 = tmp_path / "requests.json"
    requests = [
        {"service_request_id": "A-1", "service_code": "006", "service_name": "道路破损",
         "description": "洞庭湖路人行道地砖松动", "requested_datetime": "2026-06-04 10:00"},  # no zone: quarantined
        {"service_request_id": "A-2", "service_code": "006", "service_name": "道路破损",
         "description": "嵩山路井盖缺失", "requested_datetime": "2026-06-04T10:05:00+08:00"},
    ]  # fmt: skip
    open311.write_text(json.dumps(requests, ensure_ascii=False), encoding="utf-8")
    httpserver.expect_request("/feed").respond_with_handler(Feed(three_pages()))  # type: ignore[attr-defined]
    httpserver.expect_request("/orders").respond_with_data("参数错误", status=400)  # type: ignore[attr-defined]
    config = tmp_path / "intake.json"
    config.write_text(
        json.dumps(
            {
                "defaults": {"attempts": 1},
                "sources": [{"name": "district", "kind": "platform", "url": httpserver.url_for("/feed")}],  # type: ignore[attr-defined]
            }
        ),
        encoding="utf-8",
    )
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"name": "x"}), encoding="utf-8")
    return {
        "reports": str(reports),
        "open311": str(open311),
        "intake_config": str(config),
        "export_csv": str(tmp_path / "cases.csv"),
        "monthly_xlsx": str(tmp_path / "monthly.xlsx"),
        "ledger": str(tmp_path / "ledger.xlsx"),
        "roster": str(
            roster_xlsx(
                tmp_path / "roster.xlsx",
                [[1, "张三", "男", valid_id(), "13812345678", "方兴大道1号", "塘西河网格", "G5", "", "与子女同住"]],
            )
        ),
        "id2": valid_id("19380101", "456"),
        "scenario": str(scenario),
        "demo_db": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        "unit": "CG",
        "image": str(_image(tmp_path / "after.jpg")),
        "pid": "2",  # the person `care add-person` adds after the one imported
    }


@pytest.fixture
def world(db, tmp_path, httpserver, monkeypatch):
    """Users whose names are codes, and the files and servers the commands read."""
    monkeypatch.delenv("WORKSTATION_USER", raising=False)
    monkeypatch.setenv("WORKSTATION_DB", str(tmp_path / "fallback.sqlite"))
    admin = accounts.add_user(db, None, "admin1", "admin", PASSWORD)
    set_target(db, admin, "综管队系统", "webhook", httpserver.url_for("/orders"), units=["GRID-S13C01G01"])
    for name, role, extra in [
        ("op1", "operator", {}),
        ("lead1", "lead", {}),
        ("station1", "station", {"community": "塘西河社区"}),
        ("unit1", "unit", {"unit": "GRID-S13C01G01"}),
    ]:
        accounts.add_user(db, admin, name, role, PASSWORD, **extra)  # type: ignore[arg-type]
    return _write_world(tmp_path, httpserver)


def expand(args: tuple[object, ...], values: dict[str, str]) -> list[str]:
    out: list[str] = []
    for arg in args:
        if isinstance(arg, As):
            out += credentials(arg)
        else:
            out.append(str(arg).format(**values))
    return out


def run(argv: list[str], db_url: str, capsys, monkeypatch, password: str = PASSWORD) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin_for(argv)))
    full = [*argv, "--lang", "zh_CN"] + ([] if "--db" in argv else ["--db", db_url])
    try:
        code = run_cli(full, password=password)
    except SystemExit as exc:  # --help and argparse errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_every_command_has_an_invocation():
    commands = {" ".join(path) for path, _ in leaves(build_parser())}
    assert not commands - set(INVOCATIONS), (
        f"add a realistic invocation to INVOCATIONS for: {sorted(commands - set(INVOCATIONS))}"
    )
    assert not set(INVOCATIONS) - commands, f"no such command: {sorted(set(INVOCATIONS) - commands)}"


def test_every_command_speaks_chinese(world, db, db_url, capsys, monkeypatch):
    findings: dict[str, list[str]] = {}
    ran: dict[str, int] = {}
    parsers = dict(leaves(build_parser()))
    try:
        for command, args in INVOCATIONS.items():
            if command in SETUP:
                SETUP[command](db, world)
            argv = [*command.split(), *expand(args, world)]
            password = next((a.password for a in args if isinstance(a, As)), PASSWORD)
            code, text = run(argv, db_url, capsys, monkeypatch, password)
            ran[command] = code
            codes = codes_of(parsers[tuple(command.split())], tuple(command.split())) | DATA_NAMES.get(command, set())
            if command not in SCRIPT_OUTPUT:
                findings[f"$ workstation {' '.join(argv)}  (exit {code})"] = english_lines(text, codes)
    finally:
        set_language("en")
    assert not any(findings.values()), report(findings)
    failed = {c: code for c, code in ran.items() if code not in (0, 1)}
    assert not failed, f"commands that did not run (usage errors): {failed}"


def _prepare_cases(db, world) -> None:
    """Case 4 overdue (for 督办), 5 handled (for 核查), 6 dispatched (for 退回): as other seats left them."""
    from workstation.services import lifecycle as lc
    from workstation.services.accounts import find_actor

    op, unit = find_actor(db, "op1"), find_actor(db, "unit1")
    for cid in (4, 5, 6):
        lc.file(db, op, cid, "0201")
        lc.dispatch(db, op, cid)
    lc.handle(db, unit, 5, "已修复", [])
    with db.write() as s:
        s.execute(update(Case).where(Case.id == 4).values(deadline_at=utcnow().replace(year=2020)))


def _training_run(db, world) -> None:
    """A trainee's run in the demo database (``demo score`` shows it)."""
    from workstation.demo.scoring import create_run

    demo = open_database(world["demo_db"])
    try:
        assert create_run(demo, "rainstorm", "op1", utcnow(), 10.0, 7) == 1
    finally:
        demo.dispose()


SETUP = {"case supervise": _prepare_cases, "demo score": _training_run}


def test_every_help_speaks_chinese(capsys, monkeypatch):
    findings: dict[str, list[str]] = {}
    commands = {name for path, _ in areas(build_parser()) for name in path}  # help may name other commands
    try:
        for path, parser in areas(build_parser()):
            code, text = run([*path, "--help"], "sqlite://", capsys, monkeypatch)
            assert code == 0
            codes = codes_of(parser, path) | TYPED | commands | {"en"}
            findings[f"$ workstation {' '.join(path)} --help"] = english_lines(text, codes)
    finally:
        set_language("en")
    assert not any(findings.values()), report(findings)


@pytest.mark.parametrize(
    "argv",
    [
        ["case", "reject", "1"],  # a required option missing
        ["case", "list", "--status", "nonsense"],  # an invalid choice
        ["case", "show", "one"],  # not a number
        ["calendar", "show", "--colour"],  # an unknown option
        ["nonsense"],  # an unknown command
    ],
)
def test_argument_errors_speak_chinese(argv, capsys, monkeypatch):
    try:
        code, text = run(argv, "sqlite://", capsys, monkeypatch)
    finally:
        set_language("en")
    assert code == 2 and "错误" in text
    parsers = dict(areas(build_parser()))
    command = next((tuple(argv[:n]) for n in (3, 2, 1, 0) if tuple(argv[:n]) in parsers), ())
    codes = codes_of(parsers[command], command) | set(argv)
    assert not english_lines(text, codes), report({" ".join(argv): english_lines(text, codes)})
