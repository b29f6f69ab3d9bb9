"""Engines: what scores the chunks of a run. ``score`` hands an engine the run and gets the chunk files back;
the local engine scores in this process, ``RayEngine`` (``scoring.ray_engine``) on Ray Data workers. Both score
a chunk with ``score_texts``, so the output does not depend on the engine."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

from feedbackml.model import Classifier, Prediction
from feedbackml.scoring.checkpoint import ChunkRun, write_chunks
from feedbackml.scoring.options import ScoreOptions


class Engine(Protocol):
    def prepare(self, options: ScoreOptions) -> str:
        """Get ready to score (load or verify the model) and return the model version the output will carry."""
        ...

    def write_chunks(self, run: ChunkRun) -> list[Path]:
        """Write every chunk missing from the run's checkpoint; return all chunk paths in input order."""
        ...


def load_for_scoring(options: ScoreOptions, *, verify: bool = True) -> Classifier:
    """The model of ``options`` with its runtime, torch set to ``options.threads`` (as on every Ray worker).
    ``verify=False`` only where this machine's driver has just verified the same folder."""
    import torch

    from feedbackml.model import load_model

    torch.set_num_threads(options.threads)
    return load_model(
        options.model, verify=verify, runtime=options.runtime, threads=options.threads, device=options.device
    )


def score_texts(model: Classifier, texts: list[str], evidence_for: list[bool]) -> list[Prediction]:
    """The one call both engines make per chunk, so a chunk's numbers do not depend on the engine. Labels and
    probabilities come from scoring the whole chunk; evidence only for the texts flagged."""
    if not texts:
        return []
    if all(evidence_for):
        return model.predict(texts, evidence=True)
    predictions = model.predict(texts, evidence=False)
    chosen = [position for position, wanted in enumerate(evidence_for) if wanted]
    if chosen:
        explained = model.predict([texts[position] for position in chosen], evidence=True)
        for position, prediction in zip(chosen, explained, strict=True):
            predictions[position] = dataclasses.replace(predictions[position], evidence=prediction.evidence)
    return predictions


@dataclasses.dataclass
class LocalEngine:
    """Scores in this process. ``model``: one already loaded (else it is loaded from ``options.model``)."""

    model: Classifier | None = None

    def prepare(self, options: ScoreOptions) -> str:
        if self.model is None:
            self.model = load_for_scoring(options)
        else:
            import torch

            torch.set_num_threads(options.threads)  # as for a loaded model: same threads, same arithmetic
        return self.model.version

    def write_chunks(self, run: ChunkRun) -> list[Path]:
        model = self.model
        if model is None:
            raise RuntimeError("prepare() loads the model before write_chunks()")
        return write_chunks(run, lambda _, texts, evidence_for: score_texts(model, texts, evidence_for))
