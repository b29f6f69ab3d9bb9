"""Robustness: how often a prediction flips under edits that keep the labels — a harmless prefix or suffix,
full/half-width punctuation, traditional characters, a common typo, a neutral emoji, an English word swapped in.

The variants are mechanical on purpose (they test the model, they are not training data). A kind that does not
apply to a comment (no word to misspell or translate) is skipped for it, and the report says over how many
comments each rate is measured.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from feedbackml.data.records import LabelledRecord
from feedbackml.model import Classifier, Prediction

PREFIXES = ("说实话，", "个人看法：", "补充一点：", "【问卷第3题】")
SUFFIXES = ("（以上）", "。以上", "……", " ")
EMOJI = ("📌", "📝", "👀")
# common slips in survey text that a reader corrects without noticing; the first found is applied
TYPOS = (("的", "得"), ("在", "再"), ("做", "作"), ("已经", "以经"), ("那", "哪"), ("账", "帐"))
ENGLISH = (
    ("流程", "process"),
    ("系统", "system"),
    ("审批", "approval"),
    ("部门", "department"),
    ("会议", "meeting"),
    ("项目", "project"),
    ("数据", "data"),
    ("客户", "client"),
    ("老板", "boss"),
    ("经理", "manager"),
)
_WIDTH = str.maketrans("，。！？：；（）", ",.!?:;()")
_WIDTH_BACK = str.maketrans(",.!?:;()", "，。！？：；（）")

Variant = Callable[[str, random.Random], str | None]


@cache
def _to_traditional() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def _width(text: str, _: random.Random) -> str | None:
    swapped = text.translate(_WIDTH) if any(c in text for c in "，。！？：；（）") else text.translate(_WIDTH_BACK)
    return swapped if swapped != text else None


def _traditional(text: str, _: random.Random) -> str | None:
    converted = _to_traditional().convert(text)
    return converted if converted != text else None


def _replace_first(pairs: Sequence[tuple[str, str]]) -> Variant:
    def apply(text: str, _: random.Random) -> str | None:
        for old, new in pairs:
            if old in text:
                return text.replace(old, new, 1)
        return None

    return apply


VARIANTS: dict[str, Variant] = {
    "prefix": lambda text, rng: rng.choice(PREFIXES) + text,
    "suffix": lambda text, rng: text + rng.choice(SUFFIXES),
    "width": _width,
    "traditional": _traditional,
    "typo": _replace_first(TYPOS),
    "emoji": lambda text, rng: text + rng.choice(EMOJI),
    "english": _replace_first(ENGLISH),
}


def _flips(before: Prediction, after: Prediction) -> dict[str, bool]:
    return {
        "barriers": before.barriers != after.barriers,
        "sentiment": before.sentiment != after.sentiment,
        "causes": before.causes != after.causes,
        "any": (before.barriers, before.sentiment, before.causes) != (after.barriers, after.sentiment, after.causes),
    }


def _rates(rows: list[dict[str, bool]]) -> dict[str, Any]:
    fields = ("barriers", "sentiment", "causes", "any")
    return {"n": len(rows), **{f"{f}_flipped": sum(r[f] for r in rows) / len(rows) if rows else 0.0 for f in fields}}


def robustness_report(
    model: Classifier, records: Sequence[LabelledRecord], *, comments: int = 300, seed: int = 0
) -> dict[str, Any]:
    """Per variant kind: over how many comments it applied, and the share whose barriers, sentiment, causes or
    any of them changed. ``comments`` are drawn from ``records`` with ``seed`` (all if fewer)."""
    rng = random.Random(seed)
    sample = list(records) if len(records) <= comments else rng.sample(list(records), comments)
    texts = [record.text for record in sample]
    variants: list[tuple[str, int, str]] = []
    for kind, make in VARIANTS.items():
        for index, text in enumerate(texts):
            changed = make(text, rng)
            if changed is not None and changed != text:
                variants.append((kind, index, changed))
    original = model.predict(texts)
    changed_predictions = model.predict([text for _, _, text in variants])
    report: dict[str, Any] = {"comments": len(texts), "seed": seed, "kinds": {}}
    pairs = list(zip(variants, changed_predictions, strict=True))
    for kind in VARIANTS:
        report["kinds"][kind] = _rates([_flips(original[i], p) for (k, i, _), p in pairs if k == kind])
    report["overall"] = _rates([_flips(original[i], p) for (_, i, _), p in pairs])
    return report


def format_robustness(report: dict[str, Any]) -> str:
    lines = [
        f"{report['comments']} comments (seed {report['seed']}); share of predictions that change under each edit",
        "",
        f"{'variant':<12}{'n':>6}{'barriers':>10}{'sentiment':>11}{'causes':>9}{'any':>8}",
    ]
    for kind, row in [*report["kinds"].items(), ("overall", report["overall"])]:
        if not row.get("n"):
            lines.append(f"{kind:<12}{0:>6}{'–':>10}{'–':>11}{'–':>9}{'–':>8}")
            continue
        lines.append(
            f"{kind:<12}{row['n']:>6}{row['barriers_flipped']:>10.1%}{row['sentiment_flipped']:>11.1%}"
            f"{row['causes_flipped']:>9.1%}{row['any_flipped']:>8.1%}"
        )
    return "\n".join(lines)
