"""Compose the cold-start training reports of the category model from the hand-written lexicon.

Reads ``resources/assist/lexicon.txt`` (per category: objects, places, problems, effects, whole
sentences) and writes ``resources/assist/examples.json``: ``PER_CATEGORY`` reports per category in the
voices of the centre's channels — a grid member's terse PDA note, a 12345 call-taker's summary
("市民来电反映…"), a resident on WeChat, a patrol record — with the district's real roads and
landmarks as places. Deterministic (one seeded ``random.Random``)::

    python scripts/gen_assist_examples.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEXICON = ROOT / "resources" / "assist" / "lexicon.txt"
TERRITORY = ROOT / "resources" / "territory.json"
OUTPUT = ROOT / "resources" / "assist" / "examples.json"
SEED = 20261130
PER_CATEGORY = 64

#: Words of time and intensity any report may carry.
WHEN = ["", "", "今天", "最近", "这几天", "昨晚", "每天晚上", "早上", "一直", "好几天了", "上周开始", "刚才", "这个月"]
ASKS = [
    "请处理",
    "请尽快处理",
    "请相关部门处理",
    "麻烦派人来看看",
    "希望尽快解决",
    "有没有人管管",
    "已拍照上传",
    "请安排处置",
    "望处理",
    "谢谢",
    "急",
    "请核实处理",
]
DIRS = ["东侧", "西侧", "南门", "北门", "对面", "旁边", "附近", "门口", "路口", "拐角"]

# {w} when  {p} place  {o} object  {q} problem  {e} effect  {s} sentence  {a} ask  {x} named place
PDA = [
    "{x}{p}{o}{q}，{a}",
    "{x}{o}{q}",
    "巡查发现{x}{p}{o}{q}，{a}",
    "{x}{d}{s}，{a}",
    "{p}{o}{q}，{e}",
    "{x}：{s}",
    "{o}{q}，位置{x}{d}",
    "{x}{p}有{o}{q}，已拍照",
    "{p}{o}{q}",
    "{x}{p}{o}{q}，{e}，已劝导",
    "发现{x}{p}{e}，经查{o}{q}",
]
HOTLINE = [
    "市民来电反映：{x}{p}{o}{q}，{e}，希望相关部门尽快处理。",
    "市民来电反映{x}{d}{w}{s}，{e}，请处理。",
    "来电人称{x}{p}的{o}{w}{q}，{e}，要求处理。",
    "市民反映：{w}{x}{p}{o}{q}，{e}。",
    "12345转办：市民反映{x}{s}，{a}。",
    "市民来电：{x}附近{s}，{e}，多次反映未果。",
    "来电反映{x}{p}{o}{q}，市民称{e}，请属地核实处置。",
    "市民来电称其住在{x}，{p}{e}，原因是{o}{q}，要求处理。",
    "来电人反映{x}{p}{e}，{w}{s}，请尽快处理。",
    "市民致电：{s}，地点{x}{d}。",
]
WECHAT = [
    "{x}{p}{o}{q}，{e}{m}",
    "{w}{x}{p}的{o}又{q}了，{e}，有没有人管啊",
    "你们好，{x}{d}{s}，{e}，麻烦来看看",
    "{s}，{e}！！地址{x}{d}",
    "{p}{o}{w}{q}，{m}{e}",
    "我住{x}，{w}{s}，{e}，能不能管一管",
    "{o}{q}，{e}，{x}{p}",
    "{s}",
    "{w}{s}，{e}",
    "{l}{p}{e}，{o}{q}{m}",
    "{l}{s}，{e}{m}",
    "{p}{e}{m}{n}",
    "{e}！{p}{o}{q}，{n}",
    "{l}{x}{p}{o}{q}，{n}",
]
#: How residents open or close a complaint in their own words (some in dialect).
LEADS = ["", "", "你们管不管，", "我跟你们说，", "俺们这儿", "我们楼下", "哎，", "真服了，", "咱小区", "侬好，", "这个"]
TAILS = ["", "咋没人管", "烦死了", "谁来管管", "受不了了", "气死人", "怎么回事啊", "都好几回了"]
VOICES = [PDA, HOTLINE, WECHAT]


def read_lexicon(path: Path = LEXICON) -> dict[str, dict[str, list[str]]]:
    """Per category code: field letter -> items."""
    out: dict[str, dict[str, list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line[:1].isdigit():
            continue
        head, _, items = line.partition(":")
        code, field = head.split()
        out.setdefault(code, {}).setdefault(field, []).extend(i.strip() for i in items.split("|") if i.strip())
    return out


def named_places() -> list[str]:
    """Roads and landmarks of the district, as reports name them."""
    territory = json.loads(TERRITORY.read_text(encoding="utf-8"))
    names: list[str] = []
    for street in territory["streets"]:
        for community in street["communities"]:
            names += community["roads"] + community["landmarks"]
    return sorted(set(names))


def compose(rng: random.Random, lex: dict[str, list[str]], places: list[str]) -> str:
    """One report of a category in a random channel voice."""
    template = rng.choice(rng.choice(VOICES))
    x = rng.choice(places) if rng.random() < 0.6 else ""
    text = template.format(
        w=rng.choice(WHEN),
        m=rng.choice(["", "", "！", "！！", "啊", "。", "，急"]),
        p=rng.choice(lex["P"]),
        o=rng.choice(lex["O"]),
        q=rng.choice(lex["Q"]),
        e=rng.choice(lex["E"]),
        s=rng.choice(lex["S"]),
        a=rng.choice(ASKS),
        d=rng.choice(DIRS) if x else "",
        x=x,
        l=rng.choice(LEADS),
        n=rng.choice(TAILS),
    )
    text = (
        text.replace("其住在，", "")
        .replace("地点。", "。")
        .replace("我住，", "")
        .replace("地址，", "")
        .replace("位置，", "")
        .replace("，，", "，")
    )
    return text.strip("，：").replace("，。", "。").replace("！，", "！")


def generate(per_category: int = PER_CATEGORY, seed: int = SEED) -> list[tuple[str, str]]:
    """(code, text) pairs, ``per_category`` distinct texts for every category of the lexicon."""
    rng = random.Random(seed)
    lexicon = read_lexicon()
    places = named_places()
    out: list[tuple[str, str]] = []
    for code in sorted(lexicon):
        seen: set[str] = set()
        tries = 0
        while len(seen) < per_category and tries < per_category * 20:
            tries += 1
            text = compose(rng, lexicon[code], places)
            if text not in seen:
                seen.add(text)
                out.append((code, text))
    return out


def main() -> None:
    """Write the examples file."""
    examples = generate()
    OUTPUT.write_text(
        json.dumps({"seed": SEED, "examples": examples}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    print(f"{len(examples)} examples -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
