"""Can a learned first pass pick the few words worth occluding? (issue 15's evidence goal: ≤ 5× plain scoring,
same top word as exhaustive occlusion for ≥ 90 % of (comment, label) pairs, top-3 overlap ≥ 0.8).

    python scripts/evidence_ranker_study.py --model models/default --work /tmp/evidence-study \\
        --json training/results/evidence-ranker.json

Three resumable steps, each skipped when its files exist in ``--work``:

1. ``targets``: exhaustive occlusion of every content word of train, dev and test with the folder's int8 runtime
   (``--shards`` processes of one thread): per comment the word spans, the calibrated probabilities and the
   encoder's own logits (without the TF-IDF companion) of the comment and of each one-word deletion. About 40
   minutes on 2 cores for the 8,600 labelled comments.
2. ``features``: one pass of the int8 graph with extra outputs (hidden states after layers 4, 8 and 12, last-layer
   attention): per word its mean token states, attention received, and its *direct* effect (its tokens taken out of
   the mean pooling, through the heads).
3. ``fit``: rankers predict each deletion's change of the encoder logits; the companion's change is taken exact
   (it is a cheap sparse model, 60 % of each logit). The union of each predicted label's best words, filled label by
   label up to a budget of B words per comment, is then occluded exactly, and the top 3 by exact drop are the
   evidence. Rankers: ``companion`` (encoder change 0), ``direct``, and ``mlp`` (two hidden layers on all the
   features, trained on train), and ``oracle`` (the exact change: what a perfect ranker would reach with this
   fill). Reported per budget on dev and on test: same top word, top-3 overlap, mean words
   occluded (the cost in passes, before the ranker's own), and the ranker's own top word agreement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "dev", "test")
BUDGETS = (2, 3, 4, 5, 6)
COLUMNS = 20  # 3 barriers, 3 sentiments, 14 causes
TUNED_FROM = 8  # of 12: the fine-tuned ranker re-runs the classifier's last third (layers 9-12 of e5-small)


# --- step 1: exhaustive occlusion ----------------------------------------------------------------------------


def targets(model_dir: Path, data: Path, shard: int, shards: int, out: Path, limit: int | None) -> None:
    from feedbackml.data.records import load_labelled
    from feedbackml.model import load_model
    from feedbackml.model.classifier import roll_up
    from feedbackml.model.encoder import blend
    from feedbackml.model.evidence import EVIDENCE_MAX_WORDS, _is_content
    from feedbackml.text import normalize, segment

    model: Any = load_model(model_dir, runtime="onnx-int8", threads=1)
    texts = [record.text for record in load_labelled([data])][:limit]

    def scored(batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        own = model.own_piece_logits([normalize(text) for text in batch])
        mixed = own
        if model.companion is not None and model.companion_weight:
            other = model.companion.piece_logits([piece for parts in own.pieces for piece in parts])
            mixed = blend(own, other, model.companion_weight, model.companion.calibration.threshold_array())
        probs = roll_up(mixed, model.calibration.temperature)
        flat = np.concatenate([probs.barriers, probs.sentiment, probs.causes], axis=1).astype(np.float32)
        logits = np.full((len(batch), COLUMNS), np.nan, np.float32)  # a split comment has no single logit row
        position = 0
        for row, parts in enumerate(own.pieces):
            if len(parts) == 1:
                logits[row] = np.concatenate([own.barriers[position], own.sentiment[position], own.causes[position]])
            position += len(parts)
        return flat, logits

    lines = []
    chosen = list(range(shard, len(texts), shards))
    for start in range(0, len(chosen), 100):
        part = chosen[start : start + 100]
        base, base_logits = scored([texts[i] for i in part])
        words = [[p for p in segment(texts[i]) if _is_content(p.word)][:EVIDENCE_MAX_WORDS] for i in part]
        variants = [texts[i][: w.start] + texts[i][w.end :] for i, ws in zip(part, words, strict=True) for w in ws]
        probs, logits = scored(variants) if variants else (np.zeros((0, COLUMNS)), np.zeros((0, COLUMNS)))
        position = 0
        for row, i in enumerate(part):
            n = len(words[row])
            record = {
                "i": i,
                "spans": [(w.start, w.end) for w in words[row]],
                "base": base[row].tolist(),
                "variants": probs[position : position + n].tolist(),
                "base_logits": base_logits[row].tolist(),
                "variant_logits": logits[position : position + n].tolist(),
            }
            lines.append(json.dumps(record))
            position += n
        print(f"{data.name} shard {shard}: {start + len(part)}/{len(chosen)}", flush=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- step 2: features of one base pass ------------------------------------------------------------------------


def word_tokens(model: Any, normalized: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[list[int]]]:
    """The token ids of a normalised comment and, for each word span, the positions of its tokens (specials
    excluded); offsets line up because only comments that normalisation leaves as long as they were are studied."""
    encoded = model.tokenizer(model.text_prefix + normalized, return_offsets_mapping=True)
    offsets = np.array(encoded["offset_mapping"]) - len(model.text_prefix)
    count = len(encoded["input_ids"])
    groups = [
        [k for k, (a, b) in enumerate(offsets) if b > a and a < end and b > start and 0 < k < count - 1]
        for start, end in spans
    ]
    return encoded["input_ids"], groups


def feature_graph(model_dir: Path, out: Path) -> None:
    """The folder's int8 graph with hidden states after its last layer, after two thirds and one third of its layers
    (4, 8 and 12 of e5-small) and the last attention as extra outputs."""
    import onnx

    graph_model = onnx.load(str(model_dir / "onnx" / "model.int8.onnx"))
    norms = [node.output[0] for node in graph_model.graph.node if node.op_type == "LayerNormalization"]
    softmax = [node.output[0] for node in graph_model.graph.node if node.op_type == "Softmax"][-1]
    layers = (len(norms) - 1) // 2  # the embeddings' LayerNorm, then two per layer
    for name in (norms[2 * layers], norms[2 * (2 * layers // 3)], norms[2 * (layers // 3)], softmax):
        graph_model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    onnx.save(graph_model, str(out))


def features(model: Any, model_dir: Path, data: Path, graph: Path, out: Path, limit: int | None) -> None:
    from safetensors.numpy import load_file

    from feedbackml.data.records import load_labelled
    from feedbackml.model.backends import make_session
    from feedbackml.model.evidence import EVIDENCE_MAX_WORDS, _is_content
    from feedbackml.text import normalize, segment

    session = make_session(graph, 1)
    heads = load_file(str(model_dir / "heads.safetensors"))
    weights = np.concatenate([heads[f"{h}_head.weight"] for h in ("barrier", "sentiment", "cause")])
    texts = [record.text for record in load_labelled([data])][:limit]
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, text in enumerate(texts):
        words = [p for p in segment(text) if _is_content(p.word)][:EVIDENCE_MAX_WORDS]
        normalized = normalize(text)
        if len(normalized) != len(text) or not words:
            continue  # offsets would not line up; such comments fall back to exhaustive occlusion
        token_ids, groups = word_tokens(model, normalized, [(w.start, w.end) for w in words])
        ids = np.array([token_ids], dtype=np.int64)
        if ids.shape[1] > model.max_length or not all(groups):
            continue
        *_, last, middle, early, attention = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        last, middle, early, attention = last[0], middle[0], early[0], attention[0]
        count = ids.shape[1]
        mean = last.mean(axis=0)
        rows = []
        for tokens in groups:
            without = (count * mean - last[tokens].sum(axis=0)) / (count - len(tokens))
            rows.append(
                np.concatenate(
                    [
                        last[tokens].mean(0),
                        middle[tokens].mean(0),
                        early[tokens].mean(0),
                        weights @ (without - mean),  # direct effect on the encoder logits
                        attention[:, :, tokens].sum(axis=2).mean(axis=1),  # attention received, per head
                        [len(tokens), count, tokens[0] / count],
                    ]
                )
            )
        kept[i] = (np.stack(rows).astype(np.float32), mean.astype(np.float32))
    np.savez_compressed(
        out,
        index=np.array(list(kept)),
        words=np.concatenate([rows for rows, _ in kept.values()]).astype(np.float16),
        counts=np.array([len(rows) for rows, _ in kept.values()]),
        pooled=np.stack([mean for _, mean in kept.values()]),
    )
    print(f"{data.name}: features of {len(kept)} of {len(texts)} comments", flush=True)


# --- step 3: rankers and their faithfulness --------------------------------------------------------------------


def load_split(work: Path, data: Path, split: str, shards: int, model: Any) -> list[dict[str, Any]]:
    """Records with their text, predicted label columns, features and targets; the companion's logits of every
    deletion are recovered from the blended probabilities and the encoder's own logits (sentiment up to a
    constant, which softmax ignores)."""
    from feedbackml.data.records import load_labelled

    texts = [record.text for record in load_labelled([data / f"{split}.jsonl"])]
    weight, temperature = float(model.companion_weight), float(model.calibration.temperature)
    feats = np.load(work / f"features.{split}.npz")
    starts = np.concatenate([[0], np.cumsum(feats["counts"])])
    position = {int(i): k for k, i in enumerate(feats["index"])}
    words, pooled = feats["words"], feats["pooled"]

    def blended(probs: np.ndarray) -> np.ndarray:
        clipped = np.clip(probs, 1e-7, 1 - 1e-7)
        out = np.log(clipped / (1 - clipped))
        out[:, 3:6] = temperature * np.log(np.clip(probs[:, 3:6], 1e-12, 1))
        return out

    records = []
    for shard in range(shards):
        for line in (work / f"targets.{split}.{shard}.jsonl").read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            k = position.get(raw["i"])
            own_variants = np.array(raw["variant_logits"], dtype=np.float64)
            if k is None or not raw["spans"] or np.isnan(own_variants).any() or np.isnan(raw["base_logits"]).any():
                continue
            variant_probs = np.array(raw["variants"], dtype=np.float64)
            base = np.array(raw["base"], dtype=np.float64)
            records.append(
                {
                    "i": raw["i"],
                    "text": texts[raw["i"]],
                    "columns": predicted_columns(base[None], model.calibration),
                    "n": len(raw["spans"]),
                    "spans": raw["spans"],
                    "base_p": base,
                    "var_p": variant_probs,
                    "own_b": np.array(raw["base_logits"], dtype=np.float64),
                    "own_v": own_variants,
                    "comp_v": (blended(variant_probs) - (1 - weight) * own_variants) / weight if weight else 0.0,
                    "X": words[starts[k] : starts[k + 1]].astype(np.float32),
                    "pooled": pooled[k].copy(),
                }
            )
    return sorted(records, key=lambda record: record["i"])


def interval(values: np.ndarray) -> list[float]:
    """95 % percentile bootstrap interval of a mean over (comment, label) pairs."""
    from scipy.stats import bootstrap

    found = bootstrap((values,), np.mean, n_resamples=2000, method="percentile", random_state=0)
    return [round(float(found.confidence_interval.low), 4), round(float(found.confidence_interval.high), 4)]


def predicted_columns(base: np.ndarray, calibration: Any) -> list[int]:
    """The columns of a comment's predicted barriers, sentiment and causes (what evidence is given for)."""
    chosen, tone = calibration.decide(base[:, :3], base[:, 3:6])
    causes = calibration.decide_causes(base[:, 6:], chosen)
    return [c for c in range(3) if chosen[0, c]] + [3 + int(tone[0])] + [6 + c for c in range(14) if causes[0, c]]


def guessed(record: dict[str, Any], change: np.ndarray, calibration: Any, weight: float) -> np.ndarray:
    """The probabilities of each deletion if the encoder's logits moved by ``change`` (words × 20) and the
    companion's by its exact change."""
    from feedbackml.model.types import sigmoid, softmax

    mixed = (1 - weight) * (record["own_b"] + change) + weight * record["comp_v"]
    return np.concatenate(
        [sigmoid(mixed[:, :3]), softmax(mixed[:, 3:6], calibration.temperature), sigmoid(mixed[:, 6:])], axis=1
    )


def faithfulness(records: list[dict[str, Any]], changes: list[np.ndarray], model: Any, weight: float) -> dict[str, Any]:
    calibration = model.calibration

    def top3(drops: np.ndarray) -> list[int]:
        order = sorted(range(len(drops)), key=lambda r: (-drops[r], r))
        return [r for r in order if drops[r] >= 0.01][:3]

    result: dict[str, Any] = {}
    for budget in BUDGETS:
        same, overlap, sizes, ranker_same = [], [], [], []
        for record, change in zip(records, changes, strict=True):
            base = record["base_p"][None]
            columns = record["columns"]
            predicted, exact = base - guessed(record, change, calibration, weight), base - record["var_p"]
            ranked = [list(np.argsort(-predicted[:, c], kind="stable")) for c in columns]
            candidates: set[int] = set(range(record["n"])) if record["n"] <= budget else set()
            rank = 0
            while len(candidates) < budget and rank < record["n"]:
                for order in ranked:
                    if len(candidates) < budget:
                        candidates.add(int(order[rank]))
                rank += 1
            sizes.append(len(candidates))
            kept = sorted(candidates)
            for column, order in zip(columns, ranked, strict=True):
                truth = top3(exact[:, column])
                if truth:
                    mine = [kept[j] for j in top3(exact[kept, column])]
                    same.append(mine[:1] == truth[:1])
                    overlap.append(len(set(mine) & set(truth)) / len(truth))
                    ranker_same.append(int(order[0]) == truth[0])
        result[str(budget)] = {
            "same_top_word": round(float(np.mean(same)), 4),
            "same_top_word_ci95": interval(np.array(same, dtype=float)),
            "top3_overlap": round(float(np.mean(overlap)), 4),
            "top3_overlap_ci95": interval(np.array(overlap)),
            "words_occluded": round(float(np.mean(sizes)), 2),
            "ranker_same_top_word": round(float(np.mean(ranker_same)), 4),
            "pairs": len(same),
        }
    return result


def union_of_true_top3(records: list[dict[str, Any]]) -> float:
    """Mean words per comment in the union of each predicted label's exhaustive top 3: the fewest occlusions a
    method that verifies its candidates exactly needs for a top-3 overlap of 1."""
    sizes = []
    for record in records:
        exact = record["base_p"][None] - record["var_p"]
        union: set[int] = set()
        for column in record["columns"]:
            union.update(int(k) for k in np.argsort(-exact[:, column], kind="stable")[:3] if exact[k, column] >= 0.01)
        sizes.append(len(union))
    return round(float(np.mean(sizes)), 2)


def fit_mlp(train: list[dict[str, Any]], epochs: int, seed: int) -> Any:
    import torch
    from torch import nn

    def inputs(records: list[dict[str, Any]]) -> np.ndarray:
        return np.concatenate(
            [
                np.concatenate([r["X"], np.tile(r["pooled"], (r["n"], 1)), np.tile(r["own_b"], (r["n"], 1))], 1)
                for r in records
            ]
        ).astype(np.float32)

    x = inputs(train)
    y = np.concatenate([r["own_v"] - r["own_b"][None] for r in train]).astype(np.float32)
    mu, sd, scale = x.mean(0), x.std(0) + 1e-4, y.std(0) + 1e-3
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(x.shape[1], 512), nn.GELU(), nn.Dropout(0.1), nn.Linear(512, 256), nn.GELU(), nn.Linear(256, COLUMNS)
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    features, wanted = torch.from_numpy((x - mu) / sd), torch.from_numpy(y / scale)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(features))
        for start in range(0, len(order), 512):
            rows = order[start : start + 512]
            loss = ((net(features[rows]) - wanted[rows]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"mlp epoch {epoch + 1}/{epochs}", flush=True)
    net.eval()

    def predict(records: list[dict[str, Any]]) -> list[np.ndarray]:
        with torch.no_grad():
            flat = net(torch.from_numpy((inputs(records) - mu) / sd)).numpy() * scale
        bounds = np.cumsum([0] + [r["n"] for r in records])
        return [flat[a:b].astype(np.float64) for a, b in itertools.pairwise(bounds)]

    return predict


def fit_finetuned(model: Any, model_dir: Path, train: list[dict[str, Any]], epochs: int) -> Any:
    """A copy of the classifier's layers after ``TUNED_FROM`` (fine-tuned) over its frozen states there, with a head
    per word (its tokens' mean, the comment's mean, the base logits): the trainable first pass that the encoder's
    own representations allow without another full forward."""
    import copy

    import torch
    from torch import nn

    from feedbackml.model.network import FeedbackNet
    from feedbackml.text import normalize

    net = FeedbackNet.load(model_dir, pooling="mean").eval()
    torch.manual_seed(0)

    def prepared(records: list[dict[str, Any]]) -> list[tuple[torch.Tensor, list[list[int]]]]:
        items = []
        for record in records:
            token_ids, groups = word_tokens(model, normalize(record["text"]), record["spans"])
            with torch.inference_mode():
                ids = torch.tensor([token_ids])
                states = net.prefix(ids, torch.ones_like(ids), tuned_from)[0].clone()
            items.append((states, groups))
        return items

    hidden_size, depth = net.encoder.config.hidden_size, net.encoder.config.num_hidden_layers
    tuned_from = TUNED_FROM * depth // 12
    layers = copy.deepcopy(net.encoder.encoder.layer[tuned_from:])
    head = nn.Sequential(nn.Linear(2 * hidden_size + COLUMNS, 256), nn.GELU(), nn.Linear(256, COLUMNS))
    scale = torch.tensor(np.concatenate([r["own_v"] - r["own_b"][None] for r in train]).std(0) + 1e-3)

    def run(batch: list[tuple[torch.Tensor, list[list[int]]]], bases: list[np.ndarray]) -> list[torch.Tensor]:
        longest = max(len(states) for states, _ in batch)
        hidden = torch.zeros(len(batch), longest, hidden_size)
        mask = torch.zeros(len(batch), longest, dtype=torch.long)
        for row, (states, _) in enumerate(batch):
            hidden[row, : len(states)], mask[row, : len(states)] = states, 1
        attention = net._attention_mask(hidden, mask)
        for layer in layers:
            hidden = layer(hidden, attention)
        outs = []
        for row, (states, groups) in enumerate(batch):
            words = torch.stack([hidden[row, group].mean(0) for group in groups])
            context = hidden[row, : len(states)].mean(0).expand_as(words)
            base = torch.tensor(bases[row] / 5, dtype=torch.float32).expand(len(groups), COLUMNS)
            outs.append(head(torch.cat([words, context, base], 1)))
        return outs

    items = prepared(train)
    optimizer = torch.optim.AdamW(
        [{"params": layers.parameters(), "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01
    )
    for epoch in range(epochs):
        layers.train()
        order = np.random.default_rng(epoch).permutation(len(items))
        for start in range(0, len(order), 16):
            rows = order[start : start + 16]
            outs = run([items[r] for r in rows], [train[r]["own_b"] for r in rows])
            wanted = [
                torch.tensor(train[r]["own_v"] - train[r]["own_b"][None], dtype=torch.float32) / scale for r in rows
            ]
            loss = torch.cat([(o - w) ** 2 for o, w in zip(outs, wanted, strict=True)]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"fine-tuned ranker epoch {epoch + 1}/{epochs}", flush=True)
    layers.eval()

    def predict(records: list[dict[str, Any]]) -> list[np.ndarray]:
        found = []
        batch = prepared(records)
        with torch.inference_mode():
            for start in range(0, len(batch), 64):
                chunk = list(range(start, min(start + 64, len(batch))))
                outs = run([batch[r] for r in chunk], [records[r]["own_b"] for r in chunk])
                found.extend((o * scale).numpy().astype(np.float64) for o in outs)
        return found

    return predict


def direct_change(record: dict[str, Any]) -> np.ndarray:
    """The direct effect columns of a word's features (after its three hidden-state means)."""
    start = 3 * len(record["pooled"])
    return record["X"][:, start : start + COLUMNS].astype(np.float64)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, default=Path("data/labelled"))
    parser.add_argument("--work", type=Path, required=True, help="folder for the resumable steps' files")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--limit", type=int, help="first N comments of each split (a smoke run)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--finetune-epochs", type=int, default=0, help="also the fine-tuned ranker (~6 min/epoch)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--step", nargs=5, help=argparse.SUPPRESS)  # one shard of step 1, run as a child process
    args = parser.parse_args(argv)
    if args.step:
        data, shard, shards, out, limit = args.step
        targets(args.model, Path(data), int(shard), int(shards), Path(out), int(limit) if limit != "-" else None)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for split in SPLITS:
        missing = [s for s in range(args.shards) if not (args.work / f"targets.{split}.{s}.jsonl").exists()]
        limit = str(args.limit) if args.limit else "-"
        children = [
            subprocess.Popen(  # noqa: S603 - our own arguments
                [
                    sys.executable,
                    __file__,
                    "--model",
                    str(args.model),
                    "--work",
                    str(args.work),
                    "--step",
                    str(args.data / f"{split}.jsonl"),
                    str(s),
                    str(args.shards),
                    str(args.work / f"targets.{split}.{s}.jsonl"),
                    limit,
                ]
            )
            for s in missing
        ]
        if any(child.wait() for child in children):
            raise SystemExit(f"step 1 failed on {split}")
    import torch

    from feedbackml.model import load_model

    torch.set_num_threads(1)
    model: Any = load_model(args.model, runtime="onnx-int8", threads=1)
    graph = args.work / "features.int8.onnx"
    if not graph.exists():
        feature_graph(args.model, graph)
    for split in SPLITS:
        out = args.work / f"features.{split}.npz"
        if not out.exists():
            features(model, args.model, args.data / f"{split}.jsonl", graph, out, args.limit)
    weight = float(model.companion_weight)
    loaded = {split: load_split(args.work, args.data, split, args.shards, model) for split in SPLITS}
    mlp = fit_mlp(loaded["train"], args.epochs, seed=0)
    rankers = {
        "companion": lambda records: [np.zeros((r["n"], COLUMNS)) for r in records],
        "direct": lambda records: [direct_change(r) for r in records],
        "mlp": mlp,
        "oracle": lambda records: [r["own_v"] - r["own_b"][None] for r in records],  # exact: the bound of any ranker
    }
    if args.finetune_epochs:
        rankers["finetuned"] = fit_finetuned(model, args.model, loaded["train"], args.finetune_epochs)
    result: dict[str, Any] = {"model": str(args.model), "comments": {s: len(r) for s, r in loaded.items()}}
    for name, ranker in rankers.items():
        for split in ("dev", "test"):
            result[f"{name}/{split}"] = faithfulness(loaded[split], ranker(loaded[split]), model, weight)
            row = result[f"{name}/{split}"]
            print(
                f"{name:>10} {split:<5}"
                + "".join(
                    f"  B={b}: {cell['same_top_word']:.1%} / {cell['top3_overlap']:.2f} ({cell['words_occluded']})"
                    for b, cell in row.items()
                )
            )
    result["union_of_true_top3_words"] = {split: union_of_true_top3(loaded[split]) for split in ("dev", "test")}
    print(f"words in the union of the labels' exhaustive top 3, per comment: {result['union_of_true_top3_words']}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
