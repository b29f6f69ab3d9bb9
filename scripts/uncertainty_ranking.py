"""How well ``uncertainty`` ranks the comments a model gets wrong (what ``review export --top N`` relies on).

    python scripts/uncertainty_ranking.py --model models/default --data data/labelled/test.jsonl data/ood/test.jsonl

A comment is wrong when its barrier set or its sentiment differs from gold. Prints, per file, the share wrong
among the 20% most uncertain and among the rest, the ROC AUC of uncertainty for "wrong", and the same split by
``needs_review``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from feedbackml.data.records import load_labelled
from feedbackml.model import load_model


def _share(values: np.ndarray) -> str:
    return f"{values.mean():.1%}" if values.size else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--top", type=float, default=0.2, help="share of comments taken as the review queue")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    model = load_model(args.model, threads=1)
    for path in args.data:
        records = load_labelled([path])
        predictions = model.predict([record.text for record in records])
        wrong = np.array(
            [
                set(p.barriers) != set(r.barriers) or p.sentiment != r.sentiment
                for p, r in zip(predictions, records, strict=True)
            ]
        )
        uncertainty = np.array([p.uncertainty for p in predictions])
        flagged = np.array([p.needs_review for p in predictions])
        order = np.argsort(-uncertainty, kind="stable")
        cut = int(len(order) * args.top)
        auc = roc_auc_score(wrong, uncertainty) if 0 < wrong.sum() < len(wrong) else float("nan")
        print(
            f"{path}: {len(records)} comments, {_share(wrong)} wrong; the {args.top:.0%} most uncertain "
            f"{_share(wrong[order[:cut]])} wrong, the rest {_share(wrong[order[cut:]])}; ROC AUC {auc:.3f}; "
            f"needs_review {_share(flagged)} of comments, {_share(wrong[flagged])} wrong vs "
            f"{_share(wrong[~flagged])} answered"
        )


if __name__ == "__main__":
    main()
