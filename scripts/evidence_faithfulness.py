"""How faithful a cheaper evidence method is to exhaustive occlusion, and what it costs (issue 15's measure).

    python scripts/evidence_faithfulness.py --model models/default --data data/labelled/test.jsonl --rows 200

The reference deletes every content word in turn (``evidence_many`` word by word). Each method is compared on
every (comment, predicted label) pair where the reference finds evidence: the share with the same top word, the
mean overlap of the top-3 words, and comprehensiveness (how much the label's probability drops when the
method's evidence words for it are deleted together; higher is more faithful). Cost is the method's evidence
time over plain scoring of the same comments, in one run. Methods:

- ``coarse``: spans of up to 6 words first, then single words inside the 2 best spans per label (shipped, off by
  default: ``EVIDENCE_EXHAUSTIVE_WORDS``).
- ``direct-K``: a ranking pass that needs no extra forward: each word's direct effect on the mean-pooled
  encoding (its tokens' final hidden states removed from the mean) through the heads, blended with the TF-IDF
  companion's exact change; then exact occlusion of the union of each label's K best words.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.data.records import load_labelled
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.model import EncoderClassifier, load_model
from feedbackml.model.evidence import MIN_EVIDENCE_WEIGHT, _is_content, _occlusion_drops
from feedbackml.model.types import sigmoid, softmax
from feedbackml.text import normalize, segment


def predicted(model: EncoderClassifier, texts: list[str]) -> tuple[Any, list[Any], list[tuple[str, ...]]]:
    probs = model.probabilities(texts)
    chosen, sentiment = model.calibration.decide(probs.barriers, probs.sentiment)
    causes = model.calibration.decide_causes(probs.causes, chosen)
    labels = [
        (tuple(b for c, b in enumerate(BARRIERS) if chosen[i, c]), SENTIMENTS[int(sentiment[i])])
        for i in range(len(texts))
    ]
    codes = [tuple(code for c, code in enumerate(CAUSES) if causes[i, c]) for i in range(len(texts))]
    return probs, labels, codes


def direct_ranks(model: EncoderClassifier, text: str, words: list[Any], labels: Any, codes: Any, probs: Any, i: int):  # type: ignore[no-untyped-def]
    """Approximate drop of each label per word, from one forward's final hidden states (None when the text is
    split or normalisation moves offsets)."""
    import torch

    normalized = normalize(text)
    if len(normalized) != len(text):
        return None
    encoded = model.tokenizer(model.text_prefix + normalized, return_offsets_mapping=True)
    if len(encoded["input_ids"]) > model.max_length:
        return None
    net = model.backend.net  # type: ignore[attr-defined]
    ids = torch.tensor([encoded["input_ids"]])
    with torch.inference_mode():
        hidden = net.encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].numpy()
    count, mean = len(hidden), hidden.mean(axis=0)
    offsets = np.array(encoded["offset_mapping"]) - len(model.text_prefix)
    shifts = []
    for word in words:
        tokens = [
            k for k, (a, b) in enumerate(offsets) if b > a and a < word.end and b > word.start and 0 < k < count - 1
        ]
        shifts.append(
            len(tokens) * (hidden[tokens].mean(axis=0) - mean) / (count - len(tokens)) if tokens else 0 * mean
        )
    shift = np.array(shifts)
    heads = [net.barrier_head, net.sentiment_head, net.cause_head]
    weights = [head.weight.detach().numpy() for head in heads]
    base = [head(torch.from_numpy(mean)[None]).detach().numpy()[0] for head in heads]
    share, other = 0.0, None
    if model.companion is not None:
        share = model.companion_weight
        other = model.companion.piece_logits([normalize(text[: w.start] + text[w.end :]) for w in words])

    def blended(own: np.ndarray, part: str) -> np.ndarray:
        return own if other is None else (1 - share) * own + share * getattr(other, part)

    barrier = sigmoid(blended(base[0] - shift @ weights[0].T, "barriers"))
    tone = softmax(blended(base[1] - shift @ weights[1].T, "sentiment"), model.calibration.temperature)
    cause = sigmoid(blended(base[2] - shift @ weights[2].T, "causes"))
    drops = {label: probs.barriers[i, BARRIERS.index(label)] - barrier[:, BARRIERS.index(label)] for label in labels[0]}
    drops[labels[1]] = probs.sentiment[i, SENTIMENTS.index(labels[1])] - tone[:, SENTIMENTS.index(labels[1])]
    for code in codes:
        drops[code] = probs.causes[i, CAUSES.index(code)] - cause[:, CAUSES.index(code)]
    return drops


def top_words(drops: np.ndarray, rows: list[int]) -> list[int]:
    ordered = sorted(range(len(rows)), key=lambda r: (-drops[r], r))
    return [rows[r] for r in ordered if drops[r] >= MIN_EVIDENCE_WEIGHT][:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("data/labelled/test.jsonl"))
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    model = load_model(args.model, runtime="torch", threads=1)
    if not isinstance(model, EncoderClassifier):
        raise SystemExit(f"{args.model}: expected an encoder model")
    texts = [record.text for record in load_labelled([args.data])][: args.rows]
    model.predict(texts[:2], evidence=True)  # lazy initialisation is not part of any figure
    started = time.perf_counter()
    probs, labels, codes = predicted(model, texts)
    plain = time.perf_counter() - started
    given = (codes, probs.causes)
    words = [[p for p in segment(t) if _is_content(p.word)][:128] for t in texts]
    every = {i: list(range(len(w))) for i, w in enumerate(words)}

    def occlude(rows: dict[int, list[int]]) -> dict[int, dict[str, np.ndarray]]:
        cuts = {i: [(words[i][r].start, words[i][r].end) for r in rs] for i, rs in rows.items()}
        return _occlusion_drops(model.probabilities, cuts, texts, labels, probs.barriers, probs.sentiment, given)

    started = time.perf_counter()
    reference = occlude(every)
    seconds = {"exhaustive": time.perf_counter() - started}
    chosen: dict[str, dict[int, dict[str, list[int]]]] = {"exhaustive": {}}
    for i, label_drops in reference.items():
        chosen["exhaustive"][i] = {label: top_words(d, every[i]) for label, d in label_drops.items()}

    started = time.perf_counter()
    coarse = model.evidence_many(
        texts, labels, probs.barriers, probs.sentiment, exhaustive_words=0, causes=codes, cause_probs=probs.causes
    )
    seconds["coarse"] = time.perf_counter() - started
    chosen["coarse"] = {}
    for i, found in enumerate(coarse):
        starts = {w.start: r for r, w in enumerate(words[i])}
        chosen["coarse"][i] = {}
        for item in found:
            chosen["coarse"][i].setdefault(item.label, []).append(starts[item.start])

    for k in args.k:
        name = f"direct-{k}"
        started = time.perf_counter()
        candidates: dict[int, list[int]] = {}
        for i, text in enumerate(texts):
            ranks = direct_ranks(model, text, words[i], labels[i], codes[i], probs, i) if words[i] else None
            if ranks is None:
                candidates[i] = every[i]
                continue
            keep: set[int] = set()
            for drops in ranks.values():
                keep.update(int(r) for r in np.argsort(-drops, kind="stable")[:k])
            candidates[i] = sorted(keep)
        exact = occlude(candidates)
        seconds[name] = time.perf_counter() - started
        chosen[name] = {i: {label: top_words(d, candidates[i]) for label, d in ld.items()} for i, ld in exact.items()}

    def comprehensiveness(method: str) -> float:
        rows = {}
        for i, per_label in chosen[method].items():
            for label, found in per_label.items():
                if found:
                    rows[(i, label)] = sorted(found, key=lambda r: -words[i][r].start)
        variants = []
        for (i, _), found in rows.items():
            text = texts[i]
            for r in found:  # right to left, so earlier offsets stay valid
                text = text[: words[i][r].start] + text[words[i][r].end :]
            variants.append(text)
        after = model.probabilities(variants)
        values = []
        for n, (i, label) in enumerate(rows):
            if label in BARRIERS:
                values.append(probs.barriers[i, BARRIERS.index(label)] - after.barriers[n, BARRIERS.index(label)])
            elif label in SENTIMENTS:
                values.append(probs.sentiment[i, SENTIMENTS.index(label)] - after.sentiment[n, SENTIMENTS.index(label)])
            else:
                values.append(probs.causes[i, CAUSES.index(label)] - after.causes[n, CAUSES.index(label)])
        return float(np.mean(values))

    result: dict[str, Any] = {"model": str(args.model), "data": str(args.data), "comments": len(texts)}
    result["words_per_comment"] = round(float(np.mean([len(w) for w in words])), 1)
    print(f"{len(texts)} comments, {result['words_per_comment']} content words each; plain scoring {plain:.1f} s")
    print(f"{'method':<12}{'cost ×plain':>12}{'same top word':>15}{'top-3 overlap':>15}{'comprehensiveness':>19}")
    for method in chosen:
        same, overlap = [], []
        for i, per_label in chosen["exhaustive"].items():
            for label, truth in per_label.items():
                if truth:
                    mine = chosen[method].get(i, {}).get(label, [])
                    same.append(mine[:1] == truth[:1])
                    overlap.append(len(set(mine) & set(truth)) / len(truth))
        row = {
            "cost_vs_plain": round(seconds[method] / plain, 2),
            "same_top_word": round(float(np.mean(same)), 4),
            "top3_overlap": round(float(np.mean(overlap)), 4),
            "comprehensiveness": round(comprehensiveness(method), 4),
            "pairs": len(same),
        }
        result[method] = row
        print(
            f"{method:<12}{row['cost_vs_plain']:>12.1f}{row['same_top_word']:>15.1%}{row['top3_overlap']:>15.3f}"
            f"{row['comprehensiveness']:>19.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
