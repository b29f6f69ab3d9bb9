"""``train(config)``: fit a model, fix its calibration on dev, and publish the folder atomically.

The CLI only parses arguments and prints; everything a data scientist reruns lives here and is tested directly.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import data_fingerprint
from feedbackml.calibrate import LabelledTexts, calibrate, choose_companion_weight, dev_scores
from feedbackml.config import TrainConfig
from feedbackml.data.records import load_labelled
from feedbackml.labels import CAUSES, SENTIMENTS
from feedbackml.model import Classifier, EncoderClassifier, TfidfClassifier, publish_model
from feedbackml.model.backends import TorchBackend
from feedbackml.model.batching import pad_batch
from feedbackml.model.devices import resolve_device

Log = Callable[[str], None]
BASELINE_NAME = "tfidf (jieba words + character 1-3-grams)"


@dataclass(frozen=True)
class TrainResult:
    path: Path
    dev_metrics: dict[str, Any]
    seconds: float
    epochs: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def train(
    config: TrainConfig, *, log: Log = print, progress: bool | None = None, datasets: Any | None = None
) -> TrainResult:
    """Train the configured model on ``config.data.train``, calibrate on ``config.data.dev``, publish it to
    ``config.out`` (replacing any folder there only once everything succeeded). ``datasets`` (a Hugging Face
    ``DatasetDict`` or a mapping with ``train`` and ``dev`` datasets, see ``feedbackml.data.hf``) replaces the
    files."""
    started = time.perf_counter()
    if config.kind == "encoder":
        _is_local_base(config.base_model)  # fail before any work when the base is missing
    if config.mlflow:
        from feedbackml.tracking import require_mlflow

        require_mlflow()  # before the work, not after it
    seed_everything(config.seed)
    if datasets is None:
        train_records, dev_records = load_labelled(config.data.train), load_labelled(config.data.dev)
        data = data_fingerprint([*config.data.train, *config.data.dev])
    else:
        from feedbackml.data.hf import train_and_dev

        train_records, dev_records, data = train_and_dev(datasets)
    train, dev = LabelledTexts.of(train_records), LabelledTexts.of(dev_records)
    labelled_causes = int((train.causes >= 0).all(axis=1).sum())
    log(
        f"training {config.kind} on {len(train_records)} comments ({labelled_causes} with causes), "
        f"{len(dev_records)} for dev"
    )

    # The TF-IDF baseline is fitted on the same data every time, so every model carries its floor with it.
    baseline = TfidfClassifier.fit(
        train.texts, train.barriers, train.sentiments, train.causes, c=config.tfidf_c, seed=config.seed
    )
    baseline_dev = calibrate(baseline, dev, config)
    baseline.meta = {"kind": "tfidf", "base_model": {"name": BASELINE_NAME}, "train_size": len(train_records)}
    epochs = 0
    if config.kind == "tfidf":
        model: Classifier = baseline
        base_identity = {"name": BASELINE_NAME}
        dev_metrics = baseline_dev
    else:
        model, epochs, base_identity = _train_encoder(config, train, dev, log=log, progress=progress)
        weight, candidates = (
            choose_companion_weight(model, baseline, dev)
            if config.companion_weight is None
            else (config.companion_weight, {})
        )
        if candidates:
            log(f"TF-IDF share of the blend on dev: {candidates} → {weight:g}")
            base_identity["companion_weights_dev"] = candidates
        if weight:
            model.companion, model.companion_weight = baseline, weight
        dev_metrics = calibrate(model, dev, config)
    seconds = time.perf_counter() - started
    model.meta = {
        "kind": config.kind,
        "base_model": base_identity,
        "train_seconds": round(seconds, 1),
        "epochs": epochs,
        "companion_weight": getattr(model, "companion_weight", 0.0),
        "train_size": len(train_records),
        "dev_size": len(dev_records),
        "config": config.model_dump(mode="json"),
    }
    metrics = {"dev": dev_metrics}
    if model is not baseline:
        metrics["baseline_dev"] = baseline_dev

    def runtimes(staging: Path) -> dict[str, Any]:
        # ONNX fp32 and int8 beside the torch weights, each measured on dev; the default is recorded
        from feedbackml.export import add_runtimes

        assert isinstance(model, EncoderClassifier)  # noqa: S101 - only encoders are exported
        return add_runtimes(staging, model, dev.texts, dev.barriers, dev.sentiments, log=log)

    publish_model(
        config.out,
        model,
        metrics=metrics,
        data=data,
        baseline=None if model is baseline else baseline,
        runtimes=runtimes if config.export_runtimes and isinstance(model, EncoderClassifier) else None,
    )
    log(
        f"dev barrier macro-F1 {dev_metrics['barriers']['macro_f1']:.3f}, sentiment macro-F1 "
        f"{dev_metrics['sentiment']['macro_f1']:.3f}; {seconds:.0f} s; model at {config.out}"
    )
    if config.mlflow:
        from feedbackml.tracking import training_run

        run_id = training_run(config, dev_metrics, seconds, epochs)
        log(f"logged to MLflow ({config.mlflow}), run {run_id}")
    return TrainResult(Path(config.out), dev_metrics, seconds, epochs)


# --- encoder fine-tuning -----------------------------------------------------------------------------------


def _is_local_base(name: str) -> bool:
    """A path-like name must be an existing folder; anything else is taken for a hub name."""
    path = Path(name).expanduser()
    local = path.is_absolute() or name.startswith(".") or path.parent.is_dir()
    if local and not path.is_dir():
        hint = " (run 'feedbackml base build' or 'make base')" if path.name == "base" else ""
        raise ValueError(f"base model folder {name} does not exist{hint}")
    return local


def _load_encoder(name: str) -> tuple[Any, Any, str, dict[str, Any]]:
    """Tokenizer, encoder, the text prefix the encoder expects, and its identity for the model card. ``name``
    is a local folder or, where the network allows, a hub name; remote code is never run."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    options = {"local_files_only": _is_local_base(name), "trust_remote_code": False}
    tokenizer = AutoTokenizer.from_pretrained(name, **options)
    try:
        encoder = AutoModel.from_pretrained(name, add_pooling_layer=False, use_safetensors=True, **options)
    except TypeError:  # architectures without a pooler take no such argument
        encoder = AutoModel.from_pretrained(name, use_safetensors=True, **options)
    base_info = getattr(AutoConfig.from_pretrained(name, **options), "feedbackml_base", None) or {}
    prefix = base_info.get("query_prefix", "")
    identity = {
        "name": base_info.get("name", name),
        "path": name,
        "hidden_size": encoder.config.hidden_size,
        "layers": encoder.config.num_hidden_layers,
        "vocab_size": encoder.config.vocab_size,
    }
    return tokenizer, encoder, prefix, identity


def _batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed shuffled batches: similar lengths share a batch (little padding), order stays random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _train_encoder(
    config: TrainConfig,
    train: LabelledTexts,
    dev: LabelledTexts,
    *,
    log: Log,
    progress: bool | None,
) -> tuple[EncoderClassifier, int, dict[str, Any]]:
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(config.threads)
    device = torch.device(resolve_device(config.device))
    tokenizer, encoder, prefix, identity = _load_encoder(config.base_model)
    frozen = _freeze(encoder, config)
    from feedbackml.model.network import FeedbackNet

    with_causes = config.cause_loss_weight > 0 and bool((train.causes >= 0).any())
    net = FeedbackNet(encoder, pooling=config.pooling, dropout=config.dropout, causes=with_causes).to(device)
    classifier = EncoderClassifier(
        TorchBackend(net),
        tokenizer,
        max_length=config.max_length,
        text_prefix=prefix,
        pooling=config.pooling,
        batch_size=config.eval_batch_size,
    )

    encoded = tokenizer([prefix + t for t in train.texts], truncation=True, max_length=config.max_length)["input_ids"]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # The frozen embeddings and bottom layers give the same output every epoch: compute it once.
    if frozen:
        log(f"computing the frozen bottom {frozen} layer(s) once for {len(encoded)} comments")
    cache = _prefix_cache(net, encoded, pad_id, frozen, config.eval_batch_size, device) if frozen else None
    barrier_targets = torch.tensor(train.barriers, dtype=torch.float32)
    sentiment_targets = torch.tensor(train.sentiments, dtype=torch.long)
    # A cause is learnt only where it is judged: the record has cause labels and its gold barrier holds it.
    cause_targets = torch.tensor(train.causes.clip(min=0), dtype=torch.float32)
    cause_mask = torch.tensor(np.stack([train.cause_rows(code) for code in CAUSES], axis=1), dtype=torch.float32)

    if config.class_weighting:
        positives = barrier_targets.sum(0).clamp(min=1)
        pos_weight = ((len(barrier_targets) - positives) / positives).clamp(0.5, 10.0).to(device)
        counts = torch.bincount(sentiment_targets, minlength=len(SENTIMENTS)).clamp(min=1).float()
        sentiment_weight = (len(sentiment_targets) / (len(SENTIMENTS) * counts)).to(device)
    else:
        pos_weight, sentiment_weight = None, None
    barrier_loss = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    sentiment_loss = torch.nn.CrossEntropyLoss(weight=sentiment_weight)

    optimizer = torch.optim.AdamW(_parameter_groups(net, config), weight_decay=config.weight_decay)
    rng = random.Random(config.seed)
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total_steps = min(steps_per_epoch * config.epochs, config.max_steps or sys.maxsize)
    warmup = max(1, int(total_steps * config.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    )
    show = sys.stderr.isatty() if progress is None else progress

    def logits(batch: list[int]) -> tuple[Any, Any, Any]:
        if cache is not None:
            hidden, attention = _pad_hidden([cache[i] for i in batch])
            return net.from_prefix(hidden.to(device), attention.to(device), frozen)
        input_ids, attention_mask = pad_batch([encoded[i] for i in batch], pad_id)
        return net(torch.from_numpy(input_ids).to(device), torch.from_numpy(attention_mask).to(device))

    best_score, best_state, best_epoch, stale, step = -1.0, None, 0, 0, 0
    epochs_run = 0
    for epoch in range(1, config.epochs + 1):
        net.train()
        batches = _batches([len(ids) for ids in encoded], config.batch_size, rng)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", disable=not show, leave=False)
        running = 0.0
        for batch_number, batch in enumerate(bar, start=1):
            barrier_logits, sentiment_logits, cause_logits = logits(batch)
            loss = barrier_loss(barrier_logits, barrier_targets[batch].to(device)) + config.sentiment_loss_weight * (
                sentiment_loss(sentiment_logits, sentiment_targets[batch].to(device))
            )
            if with_causes:
                mask = cause_mask[batch].to(device)
                cells = torch.nn.functional.binary_cross_entropy_with_logits(
                    cause_logits, cause_targets[batch].to(device), reduction="none"
                )
                loss = loss + config.cause_loss_weight * (cells * mask).sum() / mask.sum().clamp(min=1.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running += loss.item()
            bar.set_postfix(loss=f"{running / batch_number:.3f}")
            if not show and batch_number % max(1, len(batches) // 4) == 0 and batch_number < len(batches):
                # no bar off a terminal (a log file, serve --build): a line every quarter epoch instead
                done = f"{batch_number}/{len(batches)}"
                log(f"epoch {epoch}/{config.epochs}: step {done}, loss {running / batch_number:.4f}")
            if step >= total_steps:
                break
        epochs_run = epoch
        net.eval()
        scores = dev_scores(classifier, dev)
        score = (scores["barriers"]["macro_f1"] + scores["sentiment"]["macro_f1"]) / 2
        log(
            f"epoch {epoch}: loss {running / max(1, batch_number):.4f}, dev barrier macro-F1 "
            f"{scores['barriers']['macro_f1']:.3f}, sentiment macro-F1 {scores['sentiment']['macro_f1']:.3f}"
        )
        if score > best_score:
            best_score, best_epoch, stale = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                log(f"no dev improvement for {stale} epochs: stopping, keeping epoch {best_epoch}")
                break
        if step >= total_steps:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.to("cpu").eval()  # the published folder and every runtime after training run on the CPU
    identity["best_epoch"] = best_epoch
    return classifier, epochs_run, identity


def _freeze(encoder: Any, config: TrainConfig) -> int:
    """Freeze the embeddings and the bottom ``freeze_layers`` layers; returns how many leading layers are frozen
    together with the embeddings (0 when the embeddings train), i.e. how deep the cacheable prefix goes."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if config.freeze_layers and (layers is None or config.freeze_layers > len(layers)):
        raise ValueError(f"freeze_layers={config.freeze_layers}: the encoder has no such stack of layers")
    if config.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
        embeddings = getattr(encoder, "embeddings", None)
        if embeddings is not None and config.freeze_layers:
            embeddings.requires_grad_(False)  # positions and layer norm too: the prefix is then fixed
    for layer in (layers or [])[: config.freeze_layers]:
        layer.requires_grad_(False)
    cacheable = config.freeze_embeddings and config.freeze_layers and hasattr(encoder, "embeddings")
    return config.freeze_layers if cacheable else 0


def _parameter_groups(net: Any, config: TrainConfig) -> list[dict[str, Any]]:
    """The heads at ``head_learning_rate``; each trainable encoder layer at ``learning_rate`` times
    ``layer_lr_decay`` to the power of its depth below the top layer (1.0: one rate for all)."""
    layers = list(net.encoder.encoder.layer) if hasattr(net.encoder, "encoder") else []
    groups: list[dict[str, Any]] = [
        {
            "params": [p for name, p in net.named_parameters() if name.split(".")[0].endswith("_head")],
            "lr": config.head_learning_rate,
        }
    ]
    in_layers: set[int] = set()
    for depth, layer in enumerate(reversed(layers)):
        params = [p for p in layer.parameters() if p.requires_grad]
        in_layers.update(id(p) for p in layer.parameters())
        if params:
            groups.append({"params": params, "lr": config.learning_rate * config.layer_lr_decay**depth})
    rest = [p for p in net.encoder.parameters() if p.requires_grad and id(p) not in in_layers]
    if rest:
        groups.append({"params": rest, "lr": config.learning_rate * config.layer_lr_decay ** len(layers)})
    return groups


def _prefix_cache(
    net: Any, encoded: list[list[int]], pad_id: int, layers: int, batch_size: int, device: Any
) -> list[Any]:
    """Every training text's hidden states after the frozen prefix, unpadded, on the CPU."""
    import torch

    net.eval()
    cache: list[Any] = [None] * len(encoded)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            input_ids, attention = pad_batch([encoded[i] for i in batch], pad_id)
            hidden = net.prefix(torch.from_numpy(input_ids).to(device), torch.from_numpy(attention).to(device), layers)
            for row, index in enumerate(batch):
                cache[index] = hidden[row, : len(encoded[index])].float().cpu().clone()
    return cache


def _pad_hidden(states: list[Any]) -> tuple[Any, Any]:
    """Cached hidden states padded with zeros into one batch, with the attention mask that ignores the padding."""
    import torch

    longest = max(len(state) for state in states)
    hidden = torch.zeros(len(states), longest, states[0].shape[1])
    attention = torch.zeros(len(states), longest, dtype=torch.long)
    for row, state in enumerate(states):
        hidden[row, : len(state)] = state
        attention[row, : len(state)] = 1
    return hidden, attention
