from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_the_cached_prefix_and_the_rest_equal_the_whole_network(tiny_base: Path, layers: int) -> None:
    """Training caches the frozen prefix and runs only the rest: the logits must be the network's own."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from feedbackml.model.network import FeedbackNet

    torch.manual_seed(0)
    net = FeedbackNet(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False)).eval()
    batch = AutoTokenizer.from_pretrained(tiny_base)(["采购部门总是推诿扯皮", "好"], padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        whole = net(ids, mask)
        parts = net.from_prefix(net.prefix(ids, mask, layers), mask, layers)
    for expected, found in zip(whole, parts, strict=True):
        assert torch.allclose(expected, found, atol=1e-6)
    with torch.no_grad():  # and it is not vacuous: a different prefix gives different logits
        other = net.from_prefix(net.prefix(ids, mask, layers) + 1.0, mask, layers)
    assert not torch.allclose(whole[0], other[0], atol=1e-4)
