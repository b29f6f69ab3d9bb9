"""``about`` (labels.md §4): which other departments a comment names, by lexicon and context rules, not a model.

The rules are deliberately simple and measured (``about_scores``): the longest alias wins, a bare everyday word
(质量, 市场, 生产) needs a sign of a party around it, and the writer's own department is never returned. The text is
never logged or quoted; only department names (which come from the lexicon or the analyst's org file) are.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.about_lexicon import STRICT, builtin_lexicon
from feedbackml.text import normalize

MAX_ORG_BYTES = 1_000_000
MAX_ORG_ROWS = 5_000
MAX_NAME_CHARS = 60
MAX_ALIASES = 50

# A department suffix after an alias makes it a department for sure (质量 + 部门); 组 not when it begins 组织/组成.
_SUFFIX = re.compile(r"(部门|部|中心|团队|(?:组(?![织成合建]))|科室)")
# What follows a party: a place word, a role, a verb of speech or stance, another party in a pair.
_PARTY_AFTER = re.compile(
    r"(那边|这边|那头|那里|方面的人|的人|的同事|的同学|同事|同学|的老师|经理|总监|主管|副总|负责人|领导|口的|"
    r"说|认为|觉得|以为|坚持|只看|只管|只顾|一直|总是|从来|老是|每次|又|却|嫌|不肯|不愿|不配合|不回|拖|卡|推|"
    r"改了|定的|出的|给的|之间|两边|三方|三个|两个|几个|各|互相|为了|不给|不管|不懂|不认|不同意|要求我们|提的|那位|这位|同时)"
)
_PARTY_BEFORE = re.compile(r"(找|跟|和|与|向|给|让|被|由|归|催|问|求|对接|配合|协调|联系|感谢|谢谢|转给|交给)$")
_BREAK_AFTER = re.compile(r"([,。;;!?!?、:：]|$)")
# A mention that is the writer's own side (我们研发, 我们网点) or an activity, not a department (采购订单, 销售额).
_OWN_BEFORE = re.compile(r"(我们|咱们|我们的|我们这些|我们这边的|本)$")
_VETO_AFTER = {
    "采购部": re.compile(r"(订单|审批|流程|权|合同|价格|成本|计划|的时候|时|申请|系统|制度|金额|额度|周期|物品)"),
    "销售部": re.compile(r"(额|量|数据|目标|业绩|收入|价|岗|考核|窗口|渠道|代表)"),
}
_SHOP = re.compile(r"(店|超市|卖场|专柜)")
_LIST_GAP = re.compile(r"^(、|和|与|及|跟|,|/|以及)$")
_PLACES = frozenset({"总部", "分公司", "区域"})  # a qualifier when a function follows at once: 总部财务 is 财务
_ASCII_WORD = re.compile(r"[a-z0-9&]")


class OrgFileError(ValueError):
    """A problem in the analyst's org file, naming the file, row and field (org names only, never comments)."""


@dataclass(frozen=True)
class Unit:
    """One row of the org file: what reports call the department, and how comments write it."""

    name: str
    aliases: tuple[str, ...]
    parent: str | None = None


@dataclass(frozen=True)
class Organisation:
    """The analyst's departments: each name with its aliases; a unit's name is what ``detect_about`` returns."""

    units: tuple[Unit, ...]
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _matcher: list[_Matcher] = field(default_factory=list, repr=False, compare=False)  # built once, on first use

    @classmethod
    def from_units(cls, units: Sequence[Unit]) -> Organisation:
        lookup: dict[str, str] = {}
        for unit in units:
            for alias in (unit.name, *unit.aliases):
                lookup[_key(alias)] = unit.name
        return cls(tuple(units), lookup)

    @classmethod
    def load(cls, path: str | Path) -> Organisation:
        """Read ``org.csv`` (columns name, aliases separated by | or 、, optional parent), refusing what is wrong."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_ORG_BYTES:
                raise OrgFileError(f"{path}: {size:,} bytes, more than the {MAX_ORG_BYTES:,} an org file may hold")
            raw = path.read_bytes()
        except OSError as error:
            raise OrgFileError(f"{path}: cannot read the org file ({error.strerror})") from None
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise OrgFileError(f"{path}: not UTF-8 text (save the org file as UTF-8 CSV)") from None
        return cls.parse(content, str(path))

    @classmethod
    def parse(cls, content: str, where: str = "org.csv") -> Organisation:
        reader = csv.reader(io.StringIO(content))
        header = [column.strip().lower() for column in next(reader, [])]
        missing = [column for column in ("name", "aliases") if column not in header]
        if missing:
            raise OrgFileError(f"{where}:1: missing column(s) {', '.join(missing)} (expected name, aliases[, parent])")
        unknown = [column for column in header if column not in ("name", "aliases", "parent")]
        if unknown:
            raise OrgFileError(f"{where}:1: unknown column(s) {', '.join(unknown)} (expected name, aliases[, parent])")
        units: list[Unit] = []
        rows: dict[str, int] = {}
        owner: dict[str, tuple[str, int]] = {}
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(units) >= MAX_ORG_ROWS:
                raise OrgFileError(f"{where}:{line}: more than {MAX_ORG_ROWS:,} departments")
            if len(row) != len(header):
                raise OrgFileError(f"{where}:{line}: {len(row)} field(s), the header has {len(header)}")
            cells = dict(zip(header, (normalize(cell) for cell in row), strict=True))
            name = _check_name(cells["name"], where, line, "name")
            if _key(name) in rows:
                raise OrgFileError(f"{where}:{line}: field 'name': {name} is already row {rows[_key(name)]}")
            aliases = tuple(
                dict.fromkeys(
                    _check_name(alias.strip(), where, line, "aliases")
                    for alias in re.split(r"[|、]", cells["aliases"])
                    if alias.strip()
                )
            )
            if len(aliases) > MAX_ALIASES:
                raise OrgFileError(f"{where}:{line}: field 'aliases': more than {MAX_ALIASES} aliases")
            for alias in (name, *aliases):
                other = owner.get(_key(alias))
                if other and other[0] != name:
                    raise OrgFileError(
                        f"{where}:{line}: field 'aliases': {alias} also names {other[0]} (row {other[1]})"
                    )
                owner[_key(alias)] = (name, line)
            parent = cells.get("parent") or None
            rows[_key(name)] = line
            units.append(Unit(name, aliases, parent))
        if not units:
            raise OrgFileError(f"{where}: no departments (expected a header name,aliases[,parent] and one row each)")
        for unit in units:
            if unit.parent is not None and _key(unit.parent) not in rows:
                line = rows[_key(unit.name)]
                raise OrgFileError(f"{where}:{line}: field 'parent': {unit.parent} is not a name in the file")
        return cls.from_units(units)

    def name_of(self, alias: str) -> str | None:
        return self._lookup.get(_key(alias))


def _check_name(value: str, where: str, line: int, column: str) -> str:
    if not value:
        raise OrgFileError(f"{where}:{line}: field '{column}' is empty")
    if len(value) > MAX_NAME_CHARS:
        raise OrgFileError(f"{where}:{line}: field '{column}': a name longer than {MAX_NAME_CHARS} characters")
    return value


def _key(alias: str) -> str:
    return normalize(alias).lower()


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    name: str
    strict: bool


class _Matcher:
    """Alias → name table with longest-match scanning; the org file's names override the built-in ones."""

    def __init__(self, org: Organisation | None = None) -> None:
        table: dict[str, tuple[str, bool]] = {}
        for canonical, aliases in builtin_lexicon().items():
            target = canonical
            if org is not None:  # a built-in group the org names in any of its forms takes the org's name
                target = next((name for alias in aliases if (name := org.name_of(alias))), canonical)
            for alias in aliases:
                table[_key(alias)] = (target, alias in STRICT)
        if org is not None:
            for unit in org.units:
                for alias in (unit.name, *unit.aliases):
                    table[_key(alias)] = (unit.name, False)
        self.table = table
        # the alias lengths to try at a position, longest first, by the character there: most characters start
        # no alias, so a comment costs one lookup per character instead of one per character and length
        lengths: dict[str, set[int]] = {}
        for key in table:
            lengths.setdefault(key[0], set()).add(len(key))
        self.lengths = {char: sorted(found, reverse=True) for char, found in lengths.items()}

    def scan(self, text: str) -> list[_Match]:
        """Non-overlapping longest matches, left to right, on lower-cased normalised text."""
        lowered = text.lower() if text.isascii() else "".join(c.lower() if c.isascii() else c for c in text)
        matches: list[_Match] = []
        position = 0
        while position < len(lowered):
            for length in self.lengths.get(lowered[position], ()):
                if position + length > len(lowered):
                    continue
                found = self.table.get(lowered[position : position + length])
                if found and self._bounded(lowered, position, position + length):
                    end = position + length
                    suffix = _SUFFIX.match(lowered, end)
                    strict = found[1] and suffix is None
                    matches.append(_Match(position, suffix.end() if suffix else end, found[0], strict))
                    position = matches[-1].end
                    break
            else:
                position += 1
        return matches

    @staticmethod
    def _bounded(text: str, start: int, end: int) -> bool:
        """An English alias is a whole word: IT is not the start of ITEM, nor HR the end of CHR."""
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        return not (
            (text[start].isascii() and _ASCII_WORD.match(before))
            or (text[end - 1].isascii() and _ASCII_WORD.match(after))
        )

    def canonical(self, name: str) -> str:
        """One gold or own-department name as a canonical one: the whole name, else its last (head) match."""
        text = normalize(name)
        found = self.table.get(text.lower())
        if found:
            return found[0]
        matches = self.scan(text)
        return matches[-1].name if matches else text


def _party(text: str, match: _Match, accepted: list[bool], matches: list[_Match], index: int) -> bool:
    """Whether a bare everyday word stands for a department here."""
    if _PARTY_AFTER.match(text, match.end) or (match.name in _PLACES and text.startswith("的", match.end)):
        return True
    if _PARTY_BEFORE.search(text, 0, match.start) and _BREAK_AFTER.match(text, match.end):
        return True
    for other in (index - 1, index + 1):  # in a list with another department: 研发、生产和质量
        if 0 <= other < len(matches) and accepted[other]:
            left, right = sorted((matches[other], match), key=lambda m: m.start)
            if _LIST_GAP.match(text[left.end : right.start]):
                return True
    return False


_builtin: list[_Matcher] = []


def _matcher(org: Organisation | None) -> _Matcher:
    """The alias table of the built-in lexicon, or of it and one org file, built once each."""
    cache = _builtin if org is None else org._matcher
    if not cache:
        cache.append(_Matcher(org))
    return cache[0]


def detect_about(text: str, own_department: str | None = None, org: Organisation | None = None) -> list[str]:
    """Departments the text names as the other side, in order of first mention, without the writer's own."""
    matcher = _matcher(org)
    text = normalize(text)
    lowered = "".join(c.lower() if c.isascii() else c for c in text)
    matches = matcher.scan(text)
    accepted = [not m.strict and not _vetoed(lowered, m) for m in matches]
    for _ in range(2):  # twice: a word accepted through a list can vouch for its neighbour
        for index, match in enumerate(matches):
            if not accepted[index] and _party(lowered, match, accepted, matches, index):
                accepted[index] = True
    own = _own(matcher, own_department)
    qualifiers = {  # 总部财务, 总部的IT: the function is the other side, and the place only qualifies it
        match.name
        for match, following in itertools.pairwise(matches)
        if match.name in _PLACES and text[match.end : following.start] in ("", "的") and following.name not in own
    }
    names: list[str] = []
    for index, match in enumerate(matches):
        if not accepted[index] or match.name in own or match.name in qualifiers:
            continue
        if match.name not in names:
            names.append(match.name)
    return names


def _vetoed(text: str, match: _Match) -> bool:
    veto = _VETO_AFTER.get(match.name)
    return bool(_OWN_BEFORE.search(text, 0, match.start) or (veto and veto.match(text, match.end)))


def _own(matcher: _Matcher, department: str | None) -> set[str]:
    if not department or not department.strip():
        return set()
    department = normalize(department)
    own = {matcher.canonical(department), *(m.name for m in matcher.scan(department))}
    return own | ({matcher.canonical("门店")} if _SHOP.search(department) else set())


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def about_counts(records: Iterable[Any], org: Organisation | None = None) -> np.ndarray:
    """(n, 3) true positives, false positives and false negatives per record, names compared canonically."""
    matcher = _matcher(org)
    rows = []
    for record in records:
        predicted = set(detect_about(_field(record, "text") or "", _field(record, "department"), org))
        gold = {matcher.canonical(name) for name in _field(record, "about") or () if name.strip()}
        rows.append((len(predicted & gold), len(predicted - gold), len(gold - predicted)))
    return np.array(rows, dtype=float).reshape(-1, 3)


def about_scores(
    records: Iterable[Any], org: Organisation | None = None, *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Micro precision, recall and F1 over department mentions, with percentile-bootstrap 95% intervals."""
    from feedbackml.metrics import bootstrap_interval

    counts = about_counts(records, org)

    def scores(rows: np.ndarray) -> tuple[float, float, float]:
        tp, fp, fn = counts[rows].sum(axis=0)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        return float(precision), float(recall), float(f1)

    result: dict[str, Any] = {"n_records": len(counts)}
    result["tp"], result["fp"], result["fn"] = (int(value) for value in counts.sum(axis=0))
    everything = np.arange(len(counts))
    for position, metric in enumerate(("precision", "recall", "f1")):
        value = scores(everything)[position]
        interval = (
            bootstrap_interval(lambda rows, p=position: scores(rows)[p], len(counts), resamples=resamples, seed=seed)
            if len(counts) > 1
            else (value, value)
        )
        result[metric] = {"value": value, "low": interval[0], "high": interval[1]}
    return result
