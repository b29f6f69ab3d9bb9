"""The model card (README.md) written into every model folder: what it is, how it was made, how good it is."""

from __future__ import annotations

from typing import Any

from feedbackml.labels import BARRIERS, SENTIMENTS


def render_model_card(
    meta: dict[str, Any],
    dev: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    runtimes: dict[str, Any] | None = None,
) -> str:
    config = meta.get("config", {})
    base = meta.get("base_model", {})
    barriers, sentiment, calibration = dev["barriers"], dev["sentiment"], dev["calibration"]
    abstain = dev.get("abstain", {})
    lines = [
        "# feedbackml model card",
        "",
        f"**Kind:** {meta.get('kind')} · **base:** {base.get('name', '-')} · trained on "
        f"{meta.get('train_size')} comments, calibrated on {meta.get('dev_size')} (dev) in "
        f"{meta.get('train_seconds')} s"
        + (f", {meta.get('epochs')} epoch(s), best epoch {base.get('best_epoch')}" if meta.get("epochs") else ""),
        "",
        "## Intended use",
        "",
        "Tags Chinese employee feedback comments (engagement surveys, internal-customer satisfaction surveys, 360",
        "reviews, exit interviews, suggestion boxes) with collaboration barriers (`subjective`, `objective`,",
        "`role_misalignment`, zero or more) and sentiment (`negative`, `neutral`, `positive`), to aggregate",
        "across groups. It is not meant to judge individual employees; comments flagged `needs_review` should be read",
        "by a person.",
        "",
        "## Dev metrics (after calibration)",
        "",
        "| label | precision | recall | F1 | support | threshold |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label in BARRIERS:
        row = barriers["per_label"][label]
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} "
            f"| {calibration['thresholds'][label]:.2f} |"
        )
    lines += [
        "",
        f"Barrier macro-F1 **{barriers['macro_f1']:.3f}**, micro-F1 {barriers['micro_f1']:.3f}, exact match "
        f"{barriers['exact_match']:.3f}. Sentiment accuracy {sentiment['accuracy']:.3f}, macro-F1 "
        f"**{sentiment['macro_f1']:.3f}** ("
        + ", ".join(f"{label} {sentiment['per_label'][label]['f1']:.3f}" for label in SENTIMENTS)
        + ").",
        "",
        *(
            [
                f"The TF-IDF baseline trained on the same data (kept in `baseline/`) reaches barrier macro-F1 "
                f"{baseline['barriers']['macro_f1']:.3f} and sentiment macro-F1 "
                f"{baseline['sentiment']['macro_f1']:.3f} on the same dev set.",
                "",
            ]
            if baseline
            else []
        ),
        *_blend_lines(base),
        "## Calibration and abstention",
        "",
        f"- Per-label thresholds tuned for F1 on dev (table above); sentiment temperature "
        f"{calibration['temperature']:.2f} fitted on dev.",
        f"- `needs_review` when a barrier probability is within {calibration['barrier_margin']:.3f} of its threshold, "
        f"the top sentiment probability is below {calibration['sentiment_min_confidence']:.3f}"
        + (", or the blended models disagree" if meta.get("companion_weight") else "")
        + ": "
        f"{abstain.get('coverage', 0):.0%} of dev is answered without review; exact barrier match "
        f"{abstain.get('exact_match_answered', 0):.3f} on answered vs {abstain.get('exact_match_flagged', 0):.3f} on "
        "flagged comments.",
        "",
        *(_runtime_lines(runtimes) if runtimes else []),
        "## Training recipe",
        "",
        "```yaml",
        *[f"{key}: {value}" for key, value in config.items() if not isinstance(value, dict)],
        "```",
        "",
        "Data files and their sha256, library versions and the git commit are in `manifest.json`; the test-set",
        "figures come from `feedbackml evaluate` (see the project README).",
        "",
        "## Limits",
        "",
        "- Trained on a hand-written corpus (see `data/README.md`): real exports are noisier and less balanced;",
        "  re-tune thresholds on a labelled sample of your own data before trusting per-label rates.",
        "- Texts longer than the encoder's window are scored sentence by sentence and rolled up (`split: true`).",
    ]
    return "\n".join(lines) + "\n"


def _blend_lines(base: dict[str, Any]) -> list[str]:
    """How much of each logit the TF-IDF baseline holds, and what the other shares scored on dev."""
    candidates = base.get("companion_weights_dev")
    if not candidates:
        return []
    chosen = max(candidates, key=lambda weight: (candidates[weight], -float(weight)))
    return [
        "## Blend with the TF-IDF baseline",
        "",
        f"Every logit is (1 − w) × the encoder's + w × the TF-IDF baseline's, w = **{chosen}**, chosen on dev "
        "(mean of barrier macro-F1 at F1-best thresholds and sentiment macro-F1):",
        "",
        "| w | " + " | ".join(candidates) + " |",
        "| --- | " + " | ".join("---" for _ in candidates) + " |",
        "| dev score | " + " | ".join(f"{value:.4f}" for value in candidates.values()) + " |",
        "",
    ]


def _runtime_lines(runtimes: dict[str, Any]) -> list[str]:
    """What each runtime measured on dev when the model was exported, and which one loads by default."""
    quantization = runtimes.get("quantization", {})
    lines = [
        "## Runtimes",
        "",
        f"Measured on dev ({runtimes['dev_size']} comments, {runtimes['threads']} thread(s), batch of 32) when the "
        "model was exported; loss is torch's macro-F1 minus the runtime's.",
        "",
        "| runtime | comments/s | barrier macro-F1 | loss | sentiment macro-F1 | loss | file |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    files = runtimes.get("files", {})
    for runtime, row in runtimes["dev"].items():
        lines.append(
            f"| {runtime}{' (default)' if runtime == runtimes['default'] else ''} | {row['comments_per_s']:.1f} "
            f"| {row['barriers_macro_f1']:.3f} | {row['barriers_loss'] * 100:+.2f} pt "
            f"| {row['sentiment_macro_f1']:.3f} | {row['sentiment_loss'] * 100:+.2f} pt "
            f"| `{files.get(runtime, 'encoder/')}` |"
        )
    lines += [
        "",
        f"The default, `{runtimes['default']}`, is the first of "
        + ", ".join(f"`{name}`" for name in runtimes.get("preference", ()))
        + f" (in that order) that loses at most {runtimes['max_f1_loss'] * 100:.1f} point of macro-F1 (barriers "
        "and sentiment each) against torch; the speeds are for information and do not decide. int8 is "
        f"ONNX Runtime dynamic quantization ({', '.join(quantization.get('op_types', []))} weights, "
        f"{'per-channel' if quantization.get('per_channel') else 'per-tensor'} scales"
        + (
            f"; MatMuls fed by {', '.join(quantization['fp32_after'])} stay fp32"
            if quantization.get("fp32_after")
            else ""
        )
        + "); the export check found a "
        "largest logit difference to torch of "
        + ", ".join(f"{k} {v:.2g}" for k, v in runtimes.get("check_max_abs_logit_diff", {}).items())
        + ". Choose another with `--runtime` or `FEEDBACKML_RUNTIME`.",
        "",
    ]
    return lines
