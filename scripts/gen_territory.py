"""Generate the made-up territory of Baohe District (包河区), Hefei, as ``resources/territory.json``.

The territory is fictional but plausible: the 13 real street-level units of Baohe plus the
high-speed-rail south-station area (高铁南站片区), each split into communities (社区 / 村), each
community split into grids (网格) staffed by a leader, two members and one or two part-time members.

Geometry is a planar tiling of the district bounding box (lon 117.26–117.42, lat 31.68–31.86):
the box is cut into street cells, every street cell into community cells and every community cell
into grid rectangles.  All cutting is done in integer micro-degrees so that neighbouring cells share
exactly the same coordinates; every grid polygon also carries the "T-junction" vertices of its
neighbours, so a shared edge has identical vertices on both sides.  Polygons are counter-clockwise
rings whose first point is not repeated at the end.

The output is fully deterministic (one ``random.Random(20260604)`` consumed in a fixed order, no
iteration over hash-ordered sets), so running the script twice produces a byte-identical file::

    python scripts/gen_territory.py
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20260604
TOTAL_GRIDS = 434
MIN_GRIDS, MAX_GRIDS = 3, 8

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "resources" / "territory.json"

#: One coordinate unit is one micro-degree (1e-6 degree); output keeps 6 decimals.
SCALE = 1_000_000

#: District bounding box in degrees (west, south, east, north).
DISTRICT_BOX = (117.26, 31.68, 117.42, 31.86)

#: Kilometres per degree at the district's latitude, used to keep cells roughly square.
KM_PER_DEG_LAT = 111.0
KM_PER_DEG_LON = 111.0 * math.cos(math.radians(31.77))

#: Where the intersection of 洞庭湖路 and 嵩山路 sits inside 塘西河网格 (fractions of the grid box).
TANGXIHE_POINT_FRACTION = (0.43, 0.57)

Box = tuple[int, int, int, int]
"""A rectangle in micro-degrees: (west, south, east, north)."""

OFFICE_SUFFIX = {
    "street": "办事处",
    "town": "人民政府",
    "large_community": "管理中心",
    "area": "管理办公室",
}


@dataclass(frozen=True)
class StreetSpec:
    """Static description of one street-level unit.

    Attributes:
        name: Chinese name, e.g. ``包公街道``.
        kind: One of ``street``, ``town``, ``large_community``, ``area``.
        box: Cell of the district box in degrees (west, south, east, north).
        communities: Names of the communities (社区) or villages (村) in reading order.
        roads: Road pool the communities draw their roads from.
        rivers: Rivers and canals crossing the street (used for some grid names).
        landmarks: Notable street-level landmarks, handed out to the communities in turn.
        modern: Share (0–1) of estates built after 2000 (brand-name estates) versus old estates.
    """

    name: str
    kind: str
    box: tuple[float, float, float, float]
    communities: tuple[str, ...]
    roads: tuple[str, ...]
    rivers: tuple[str, ...] = ()
    landmarks: tuple[str, ...] = ()
    modern: float = 0.5


# fmt: off
STREETS: tuple[StreetSpec, ...] = (
    StreetSpec(
        "包公街道", "street", (117.29, 31.83, 117.32, 31.86),
        ("凌大塘社区", "曙光社区", "包河苑社区", "宿松路社区", "桐城南路社区"),
        ("马鞍山路", "芜湖路", "宿松路", "桐城南路", "徽州大道", "九华山路", "庐江路", "望江西路"),
        ("包河",),
        ("包公园", "包公祠", "包河花园", "合肥市第一中学"),
        0.25,
    ),
    StreetSpec(
        "芜湖路街道", "street", (117.26, 31.83, 117.29, 31.86),
        ("南门社区", "省府社区", "舒城路社区", "益民街社区", "秋浦路社区"),
        ("芜湖路", "徽州大道", "宁国路", "屯溪路", "舒城路", "益民街", "秋浦路", "安庆路"),
        ("环城河",),
        ("银河公园", "合肥市第八中学", "包河区图书馆"),
        0.2,
    ),
    StreetSpec(
        "望湖街道", "street", (117.26, 31.78, 117.29, 31.83),
        ("望湖城社区", "翠竹社区", "望园社区", "南湖社区", "太湖路社区", "湖畔社区"),
        ("徽州大道", "太湖路", "望湖路", "马鞍山路", "南二环路", "紫云路", "贵池路", "宣城路"),
        ("十五里河",),
        ("望湖公园", "合肥市第四十二中学", "南湖春城农贸市场"),
        0.55,
    ),
    StreetSpec(
        "宁国路街道", "street", (117.32, 31.83, 117.35, 31.86),
        ("卫岗社区", "宁西社区", "绩溪路社区", "屯溪路社区", "休宁路社区"),
        ("宁国路", "绩溪路", "屯溪路", "望江东路", "马鞍山路", "太湖路", "南一环路", "休宁路"),
        ("南淝河",),
        ("卫岗公园", "合肥市第四十六中学", "宁国路龙虾一条街"),
        0.3,
    ),
    StreetSpec(
        "常青街道", "street", (117.34, 31.78, 117.38, 31.83),
        ("常青社区", "东方社区", "吉祥社区", "华府社区", "花园社区", "金隆社区"),
        ("大连路", "常青路", "东流路", "花园大道", "望江东路", "包河大道", "黄河路", "铜陵南路"),
        ("南淝河",),
        ("常青公园", "合肥市第五十中学东校", "常青农贸市场"),
        0.5,
    ),
    StreetSpec(
        "骆岗街道", "street", (117.31, 31.74, 117.36, 31.78),
        ("骆岗社区", "龙岗社区", "东湖社区", "航站社区"),
        ("包河大道", "花园大道", "云谷路", "骆岗路", "南京路", "武汉路", "宁国南路", "纬一路"),
        ("十五里河",),
        ("骆岗公园", "骆岗机场旧址", "园博园南门"),
        0.6,
    ),
    StreetSpec(
        "烟墩街道", "street", (117.31, 31.78, 117.34, 31.83),
        ("烟墩社区", "葛大店社区", "徽园社区", "锦华社区", "御园社区", "淮河社区"),
        ("绩溪路", "宁国南路", "龙川路", "南二环路", "延安路", "淮河路", "云谷路", "屯溪路"),
        ("圩西河",),
        ("烟墩公园", "合肥市第四十八中学", "葛大店菜市场"),
        0.5,
    ),
    StreetSpec(
        "义城街道", "street", (117.31, 31.68, 117.36, 31.74),
        ("义城社区", "湖光社区", "双圩社区", "四合社区", "湖滨社区"),
        ("滨湖大道", "包河大道", "义城路", "花园大道", "锦绣大道", "延安路", "方兴大道", "广西路"),
        ("十五里河", "南淝河"),
        ("滨湖湿地森林公园", "义城老街", "合肥市第一六八中学滨湖校区"),
        0.7,
    ),
    StreetSpec(
        "同安街道", "street", (117.35, 31.83, 117.42, 31.86),
        ("同安新村社区", "南薰社区", "合铁社区", "东流路社区", "淝河苑社区"),
        ("东流路", "铜陵路", "南一环路", "包河大道", "同安路", "太湖东路", "大连路", "当涂南路"),
        ("南淝河",),
        ("同安公园", "南薰门桥", "合肥铁路一中"),
        0.3,
    ),
    StreetSpec(
        "万年埠街道", "street", (117.38, 31.78, 117.42, 31.83),
        ("万年埠社区", "新桥社区", "高洪社区", "南淝河社区", "东城社区"),
        ("大连路", "繁华大道", "花园大道", "万年埠路", "东油路", "上海路", "扬子江路", "祁门路"),
        ("南淝河",),
        ("南淝河湿地公园", "万年埠老码头", "包河区万年埠小学"),
        0.6,
    ),
    StreetSpec(
        "大圩镇", "town", (117.36, 31.68, 117.42, 31.78),
        ("大圩社区", "磨滩村", "沿河村", "新民村", "金葡萄村", "同心村"),
        ("环巢湖大道", "大圩路", "沿河路", "方兴大道", "圩中路", "滨湖大道", "磨滩路", "葡萄路"),
        ("南淝河", "十五里河"),
        ("大圩葡萄园", "磨滩生态公园", "大圩镇中心学校", "大圩农产品集散市场"),
        0.2,
    ),
    StreetSpec(
        "滨湖世纪社区", "large_community", (117.26, 31.74, 117.31, 31.78),
        ("世纪苑社区", "景园社区", "金色池塘社区", "春融社区", "融科社区", "云谷路社区"),
        ("南京路", "杭州路", "武汉路", "广西路", "庐州大道", "紫云路", "锦绣大道", "云谷路",
         "中山路", "黑龙江路", "徽州大道"),
        ("塘西河",),
        ("渡江战役纪念馆", "安徽名人馆", "合肥滨湖国际会展中心", "滨湖世纪城"),
        0.95,
    ),
    StreetSpec(
        "方兴社区", "large_community", (117.26, 31.68, 117.31, 31.74),
        ("塘西河社区", "方兴湖社区", "嘉陵江社区", "滨湖时代社区", "庐州社区"),
        ("洞庭湖路", "嵩山路", "庐州大道", "方兴大道", "锦绣大道", "中山路", "黑龙江路", "延安路",
         "滨湖大道", "徽州大道", "嘉陵江路"),
        ("塘西河",),
        ("塘西河公园", "合肥市第一人民医院滨湖院区", "方兴湖公园", "滨湖塘西河农贸市场"),
        0.95,
    ),
    StreetSpec(
        "高铁南站片区", "area", (117.29, 31.78, 117.31, 31.83),
        ("南站社区", "站前社区", "龙川社区"),
        ("龙川路", "宿松路", "站前路", "南二环路", "紫云路", "徽州大道"),
        ("十五里河",),
        ("合肥南站", "合肥南站南广场", "南站综合交通枢纽"),
        0.8,
    ),
)
# fmt: on


def words(text: str) -> tuple[str, ...]:
    """Split a whitespace-separated word list (keeps the long name tables compact).

    Args:
        text: Words separated by whitespace.

    Returns:
        The words, in order.
    """
    return tuple(text.split())


#: The one grid that must exist, its community and its street, and the intersection inside it.
TANGXIHE_STREET = "方兴社区"
TANGXIHE_COMMUNITY = "塘西河社区"
TANGXIHE_GRID = "塘西河网格"
TANGXIHE_ROADS = ("洞庭湖路", "嵩山路")

OLD_ESTATE_PREFIXES = words(
    "红星 东风 光明 和平 青年 建设 永红 曙光 电力 铁路 纺织 轻工 粮食 "
    "邮电 人民 胜利 幸福 友谊 团结 朝阳 长青 华侨 教工 供电 水利 化工 "
    "机电 农科 税务 园林 银行 气象 供销 商贸 新华 安居 龙图 庐阳 徽商 "
    "淮河 长江 春晖 金桂 绿杨"
)
OLD_ESTATE_SUFFIXES = ("新村", "小区", "花园", "苑", "公寓", "家园")

NEW_ESTATE_BRANDS = words(
    "万科 保利 绿地 融创 华润 中海 招商 龙湖 金地 碧桂园 新城 旭辉 荣盛 "
    "伟星 文一 置地 信达 高速 安粮 国贸 城建 华邦 禹洲 中铁 中建 金科 "
    "绿城 滨湖 世纪 蓝光"
)
NEW_ESTATE_THEMES = words(
    "公园里 悦府 湖畔 云庭 天玺 城市之光 玖珑府 锦苑 雅居 天悦 壹号院 御湖 "
    "春江明月 观湖 翡翠城 时代广场 海上五月花 蓝海 熙园 璞悦 印象 星河湾 "
    "名邸 滨江苑 天街 和府 澜庭 青园 尚城 湖语"
)

VILLAGE_PLACE_SUFFIXES = ("郢", "圩", "岗", "塘", "湾", "庄", "店", "埠", "桥", "洼", "墩", "坝")

SURNAMES = words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 "
    "郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 于 蒋 蔡 "
    "余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 "
    "石 廖 贾 夏 方 江 葛 储 汤 鲍 俞 戴 章 凤 檀 疏 查 左 伍 孔"
)
#: Surnames common in Anhui get a higher weight.
HEAVY_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "吴", "汪", "程", "朱", "周", "徐", "胡", "孙")

GIVEN_CHARS = words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 "
    "刚 桂 英 华 玉 兰 萍 红 鹏 辉 斌 宇 浩 凯 健 俊 帆 帅 慧 婷 "
    "雪 琳 晶 燕 倩 丹 蕾 颖 文 博 志 国 建 海 春 晓 云 子 欣 宏 "
    "振 凤 梅 新 琴 亮 成 峰 林 雯 佳 怡 思 雨 晨 阳 金 荣 德 永"
)

MOBILE_PREFIXES = words(
    "130 131 132 133 135 136 137 138 139 150 "
    "151 152 153 155 156 157 158 159 173 177 "
    "178 180 181 182 183 185 186 187 188 189 "
    "191 199"
)


@dataclass
class Generator:
    """Stateful helper that draws all names and numbers from one seeded RNG.

    Attributes:
        rng: The single source of randomness; consumed in a fixed order.
        used_estates: Estate names already handed out (estates are unique in the district).
        used_villages: Natural-village names already handed out.
        used_grid_names: Grid names already taken (grid names are unique in the district).
        used_people: Staff names already taken (kept unique to ease searching).
        used_phones: Mobile numbers already taken.
    """

    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    used_estates: set[str] = field(default_factory=set)
    used_villages: set[str] = field(default_factory=set)
    used_grid_names: set[str] = field(default_factory=set)
    used_people: set[str] = field(default_factory=set)
    used_phones: set[str] = field(default_factory=set)

    def estate(self, modern: float) -> str:
        """Return a new, district-unique residential estate name.

        Args:
            modern: Probability of a post-2000 brand estate instead of an older estate.

        Returns:
            An estate name such as ``保利悦府`` or ``红星新村``.
        """
        while True:
            if self.rng.random() < modern:
                name = self.rng.choice(NEW_ESTATE_BRANDS) + self.rng.choice(NEW_ESTATE_THEMES)
            else:
                name = self.rng.choice(OLD_ESTATE_PREFIXES) + self.rng.choice(OLD_ESTATE_SUFFIXES)
            if name not in self.used_estates:
                self.used_estates.add(name)
                return name

    def natural_village(self) -> str:
        """Return a new, district-unique natural-village (自然村) name such as ``王郢``.

        Returns:
            A two-character place name.
        """
        while True:
            name = self.rng.choice(SURNAMES) + self.rng.choice(VILLAGE_PLACE_SUFFIXES)
            if name not in self.used_villages:
                self.used_villages.add(name)
                return name

    def person(self) -> str:
        """Return a new, district-unique Chinese personal name (surname + 1–2 given characters).

        Returns:
            A two- or three-character name.
        """
        while True:
            pool = HEAVY_SURNAMES if self.rng.random() < 0.45 else SURNAMES
            name = self.rng.choice(pool) + self.rng.choice(GIVEN_CHARS)
            if self.rng.random() < 0.7:
                name += self.rng.choice(GIVEN_CHARS)
            if name not in self.used_people and name[-1] != name[-2]:
                self.used_people.add(name)
                return name

    def phone(self) -> str:
        """Return a new, district-unique made-up 11-digit mainland mobile number.

        Returns:
            A string of 11 digits starting with 13/15/17/18/19.
        """
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def claim_grid_name(self, candidate: str) -> bool:
        """Reserve ``candidate`` as a grid name if it is still free.

        Args:
            candidate: Full grid name including the ``网格`` suffix.

        Returns:
            True if the name was free and is now reserved.
        """
        if candidate in self.used_grid_names:
            return False
        self.used_grid_names.add(candidate)
        return True


# --------------------------------------------------------------------------- geometry


def to_units(value: float) -> int:
    """Convert degrees to integer micro-degrees.

    Args:
        value: Degrees.

    Returns:
        The value in micro-degrees, rounded to the nearest integer.
    """
    return round(value * SCALE)


def to_degrees(value: int) -> float:
    """Convert integer micro-degrees back to degrees rounded to 6 decimals.

    Args:
        value: Micro-degrees.

    Returns:
        Degrees as a float with at most 6 decimals.
    """
    return round(value / SCALE, 6)


def split_weights(start: int, end: int, weights: Sequence[int]) -> list[int]:
    """Cut the interval ``[start, end]`` into pieces proportional to ``weights``.

    Args:
        start: Interval start in micro-degrees.
        end: Interval end in micro-degrees.
        weights: Positive weight per piece.

    Returns:
        ``len(weights) + 1`` ascending cut positions starting at ``start`` and ending at ``end``.
    """
    total = sum(weights)
    cuts = [start]
    acc = 0
    for weight in weights[:-1]:
        acc += weight
        cuts.append(start + round((end - start) * acc / total))
    cuts.append(end)
    return cuts


def group_rows(weights: Sequence[int], rows: int) -> list[list[int]]:
    """Partition item indices, in order, into ``rows`` contiguous groups of similar total weight.

    Args:
        weights: Positive weight per item.
        rows: Number of groups wanted (clamped to ``1..len(weights)``).

    Returns:
        A list of non-empty lists of item indices.
    """
    rows = max(1, min(rows, len(weights)))
    total = sum(weights)
    groups: list[list[int]] = []
    current: list[int] = []
    acc = 0
    for index, weight in enumerate(weights):
        current.append(index)
        acc += weight
        remaining_items = len(weights) - index - 1
        remaining_groups = rows - len(groups) - 1
        target = total * (len(groups) + 1) / rows
        if remaining_groups > 0 and (acc >= target - weight / 2 or remaining_items == remaining_groups):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def partition(box: Box, weights: Sequence[int]) -> list[Box]:
    """Tile ``box`` with one rectangle per weight, area proportional to the weight.

    Rectangles are laid out in rows from north to south, west to east inside a row, with the row
    count chosen so that the pieces are roughly square on the ground.

    Args:
        box: Rectangle to tile, in micro-degrees.
        weights: Positive weight per piece.

    Returns:
        One rectangle per weight, in the order of ``weights``.
    """
    west, south, east, north = box
    width_km = (east - west) / SCALE * KM_PER_DEG_LON
    height_km = (north - south) / SCALE * KM_PER_DEG_LAT
    rows = max(1, round(math.sqrt(len(weights) * height_km / width_km)))
    groups = group_rows(weights, rows)
    row_weights = [sum(weights[i] for i in group) for group in groups]
    # Rows run north to south, so cut the latitude range from the top.
    lat_cuts = split_weights(0, north - south, row_weights)
    result: list[Box] = [(0, 0, 0, 0)] * len(weights)
    for row, group in enumerate(groups):
        top = north - lat_cuts[row]
        bottom = north - lat_cuts[row + 1]
        lon_cuts = split_weights(west, east, [weights[i] for i in group])
        for col, index in enumerate(group):
            result[index] = (lon_cuts[col], bottom, lon_cuts[col + 1], top)
    return result


def ring_with_junctions(
    box: Box, xs_on_y: dict[int, list[int]], ys_on_x: dict[int, list[int]]
) -> list[tuple[int, int]]:
    """Build the counter-clockwise ring of a rectangle including neighbours' T-junction vertices.

    Args:
        box: The rectangle (west, south, east, north) in micro-degrees.
        xs_on_y: For each latitude, the sorted longitudes of all rectangle corners on it.
        ys_on_x: For each longitude, the sorted latitudes of all rectangle corners on it.

    Returns:
        The ring, starting at the south-west corner, first point not repeated.
    """
    west, south, east, north = box
    ring: list[tuple[int, int]] = [(west, south)]
    ring += [(x, south) for x in xs_on_y[south] if west < x < east]
    ring.append((east, south))
    ring += [(east, y) for y in ys_on_x[east] if south < y < north]
    ring.append((east, north))
    ring += [(x, north) for x in reversed(xs_on_y[north]) if west < x < east]
    ring.append((west, north))
    ring += [(west, y) for y in reversed(ys_on_x[west]) if south < y < north]
    return ring


# --------------------------------------------------------------------------- naming


def short_name(name: str) -> str:
    """Strip the administrative suffix of a community or village name.

    Args:
        name: e.g. ``凌大塘社区`` or ``磨滩村``.

    Returns:
        e.g. ``凌大塘`` or ``磨滩``.
    """
    for suffix in ("社区", "村"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def estate_grid_stem(estate: str) -> str:
    """Return the stem a grid named after ``estate`` uses (``红星小区`` -> ``红星``).

    Args:
        estate: Estate name, possibly ending in ``小区`` or ``村民组``.

    Returns:
        The estate name without a generic ``小区``/``村民组`` suffix.
    """
    for suffix in ("小区", "村民组"):
        if estate.endswith(suffix):
            return estate[: -len(suffix)]
    return estate


def grid_name_candidates(homes: Sequence[str], roads: Sequence[str], rivers: Sequence[str]) -> Iterator[str]:
    """Yield grid-name stems in order of preference: homes and roads interleaved, then rivers.

    Args:
        homes: Estate or natural-village stems of the community.
        roads: Roads of the community.
        rivers: Rivers of the street.

    Yields:
        Stems to which ``网格`` is appended.
    """
    sections = ("", "北段", "南段", "东段", "西段", "中段")
    road_stems = [road + section for section in sections for road in roads]
    for index in range(max(len(homes), len(road_stems))):
        if index < len(homes):
            yield homes[index]
        if index < len(road_stems):
            yield road_stems[index]
    for section in ("", "北岸", "南岸", "东岸", "西岸"):
        for river in rivers:
            yield river + section


# --------------------------------------------------------------------------- assembly


def grid_counts(gen: Generator) -> list[list[int]]:
    """Decide how many grids every community gets, adding up to exactly ``TOTAL_GRIDS``.

    Args:
        gen: The generator whose RNG is used.

    Returns:
        Per street, the grid count of each community (each between 3 and 8).
    """
    counts = [[gen.rng.randint(4, 8) for _ in spec.communities] for spec in STREETS]
    flat = [(s, c) for s, street in enumerate(counts) for c in range(len(street))]
    diff = TOTAL_GRIDS - sum(map(sum, counts))
    step = 1 if diff > 0 else -1
    position = 0
    while diff:
        s, c = flat[position % len(flat)]
        if MIN_GRIDS <= counts[s][c] + step <= MAX_GRIDS:
            counts[s][c] += step
            diff -= step
        position += 1
    return counts


def staff_for_grid(gen: Generator) -> list[dict[str, str]]:
    """Draw the staff of one grid: one leader, two members and one or two part-timers.

    Args:
        gen: The generator whose RNG is used.

    Returns:
        Staff records with ``name``, ``role`` and ``phone``.
    """
    roles = ["leader", "member", "member"] + ["part_time"] * gen.rng.randint(1, 2)
    return [{"name": gen.person(), "role": role, "phone": gen.phone()} for role in roles]


def build_territory() -> dict[str, object]:
    """Build the whole territory structure.

    Returns:
        A JSON-serialisable dict with ``district`` and ``streets``.

    Raises:
        RuntimeError: If an invariant (grid total, unique names, required grid) is violated.
    """
    gen = Generator()
    counts = grid_counts(gen)

    # First pass: geometry of every grid, so that T-junction vertices are known globally.
    grid_boxes: list[list[list[Box]]] = []
    for spec, street_counts in zip(STREETS, counts, strict=True):
        street_box: Box = (
            to_units(spec.box[0]),
            to_units(spec.box[1]),
            to_units(spec.box[2]),
            to_units(spec.box[3]),
        )
        community_boxes = partition(street_box, street_counts)
        grid_boxes.append([partition(cbox, [1] * n) for cbox, n in zip(community_boxes, street_counts, strict=True)])
    xs_on_y: dict[int, set[int]] = {}
    ys_on_x: dict[int, set[int]] = {}
    for street in grid_boxes:
        for community in street:
            for west, south, east, north in community:
                for x, y in ((west, south), (east, south), (east, north), (west, north)):
                    xs_on_y.setdefault(y, set()).add(x)
                    ys_on_x.setdefault(x, set()).add(y)
    xs_sorted = {y: sorted(xs) for y, xs in xs_on_y.items()}
    ys_sorted = {x: sorted(ys) for x, ys in ys_on_x.items()}

    # Reserve the one grid name other code relies on.
    gen.claim_grid_name(TANGXIHE_GRID)

    streets_out: list[dict[str, object]] = []
    for s_index, spec in enumerate(STREETS):
        street_code = f"S{s_index + 1:02d}"
        communities_out: list[dict[str, object]] = []
        for c_index, community_name in enumerate(spec.communities):
            community_code = f"{street_code}C{c_index + 1:02d}"
            stem = short_name(community_name)
            is_village = community_name.endswith("村")
            n_grids = counts[s_index][c_index]

            roads = gen.rng.sample(spec.roads, gen.rng.randint(3, 5))
            if community_name == TANGXIHE_COMMUNITY:
                roads = [*TANGXIHE_ROADS, *(r for r in roads if r not in TANGXIHE_ROADS)]

            if is_village:
                homes = [gen.natural_village() for _ in range(n_grids)]
                home_landmarks = [f"{home}村民组" for home in homes]
                landmarks = [
                    *home_landmarks,
                    f"{community_name}村委会",
                    f"{stem}小学",
                    f"{stem}葡萄采摘园" if gen.rng.random() < 0.5 else f"{stem}农家乐",
                ]
            else:
                n_estates = max(2, (n_grids + 1) // 2 + 1)
                estates = [gen.estate(spec.modern) for _ in range(n_estates)]
                home_landmarks = estates
                market_road = gen.rng.choice(roads)
                landmarks = [
                    *estates,
                    f"{stem}小学",
                    f"{stem}幼儿园" if gen.rng.random() < 0.5 else f"{market_road}小学",
                    f"{market_road}农贸市场" if gen.rng.random() < 0.5 else f"{stem}菜市场",
                    f"{stem}社区卫生服务站",
                ]
            # Street-level landmarks are handed out in turn to the communities.
            landmarks += list(spec.landmarks[c_index :: len(spec.communities)])

            homes_for_names = [estate_grid_stem(home) for home in home_landmarks]
            candidates = grid_name_candidates(homes_for_names, roads, spec.rivers)
            grids_out: list[dict[str, object]] = []
            for g_index, gbox in enumerate(grid_boxes[s_index][c_index]):
                if community_name == TANGXIHE_COMMUNITY and g_index == 0:
                    grid_name = TANGXIHE_GRID
                else:
                    grid_name = ""
                    for candidate in candidates:
                        if gen.claim_grid_name(candidate + "网格"):
                            grid_name = candidate + "网格"
                            break
                    ordinal = 1
                    while not grid_name:
                        if gen.claim_grid_name(f"{stem}第{ordinal}网格"):
                            grid_name = f"{stem}第{ordinal}网格"
                        ordinal += 1
                ring = ring_with_junctions(gbox, xs_sorted, ys_sorted)
                grid: dict[str, object] = {
                    "code": f"{community_code}G{g_index + 1:02d}",
                    "name": grid_name,
                    "polygon": [[to_degrees(x), to_degrees(y)] for x, y in ring],
                    "staff": staff_for_grid(gen),
                }
                if grid_name == TANGXIHE_GRID:
                    west, south, east, north = gbox
                    fx, fy = TANGXIHE_POINT_FRACTION
                    point = (west + round((east - west) * fx), south + round((north - south) * fy))
                    grid["intersections"] = [
                        {"roads": list(TANGXIHE_ROADS), "point": [to_degrees(point[0]), to_degrees(point[1])]}
                    ]
                grids_out.append(grid)

            suffix = "居村工作站"
            communities_out.append(
                {
                    "code": community_code,
                    "name": community_name,
                    "station": f"{community_name}{suffix}",
                    "roads": roads,
                    "landmarks": landmarks,
                    "grids": grids_out,
                }
            )
        streets_out.append(
            {
                "code": street_code,
                "name": spec.name,
                "kind": spec.kind,
                "office": spec.name + OFFICE_SUFFIX[spec.kind],
                "communities": communities_out,
            }
        )

    territory: dict[str, object] = {"district": {"code": "BH", "name": "包河区"}, "streets": streets_out}
    check(territory)
    return territory


def check(territory: dict[str, object]) -> None:
    """Verify the invariants the application relies on.

    Args:
        territory: The structure built by :func:`build_territory`.

    Raises:
        RuntimeError: If an invariant is violated.
    """
    streets = territory["streets"]
    assert isinstance(streets, list)
    grids = [g for s in streets for c in s["communities"] for g in c["grids"]]
    if len(streets) != len(STREETS):
        raise RuntimeError(f"expected {len(STREETS)} streets, got {len(streets)}")
    if len(grids) != TOTAL_GRIDS:
        raise RuntimeError(f"expected {TOTAL_GRIDS} grids, got {len(grids)}")
    if len({g["name"] for g in grids}) != len(grids):
        raise RuntimeError("grid names are not unique")
    if len({g["code"] for g in grids}) != len(grids):
        raise RuntimeError("grid codes are not unique")
    home = [
        (s["name"], c["name"])
        for s in streets
        for c in s["communities"]
        for g in c["grids"]
        if g["name"] == TANGXIHE_GRID and "intersections" in g
    ]
    if home != [(TANGXIHE_STREET, TANGXIHE_COMMUNITY)]:
        raise RuntimeError(f"{TANGXIHE_GRID} must exist once, under {TANGXIHE_STREET}/{TANGXIHE_COMMUNITY}")
    area = 0.0
    for grid in grids:
        ring = grid["polygon"]
        area += (
            sum(
                ring[i][0] * ring[(i + 1) % len(ring)][1] - ring[(i + 1) % len(ring)][0] * ring[i][1]
                for i in range(len(ring))
            )
            / 2
        )
    west, south, east, north = DISTRICT_BOX
    if not math.isclose(area, (east - west) * (north - south), rel_tol=1e-9):
        raise RuntimeError(f"grid areas do not add up to the district box: {area}")


def render(territory: dict[str, object]) -> str:
    """Serialise the territory as stable, human-readable JSON.

    Args:
        territory: The structure built by :func:`build_territory`.

    Returns:
        The JSON text with a trailing newline.
    """
    return json.dumps(territory, ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    """Generate ``resources/territory.json`` and print a short summary."""
    territory = build_territory()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(territory), encoding="utf-8", newline="\n")
    streets = territory["streets"]
    assert isinstance(streets, list)
    total = sum(len(c["grids"]) for s in streets for c in s["communities"])
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}: {len(streets)} streets, {total} grids")


if __name__ == "__main__":
    main()
