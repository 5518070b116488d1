"""The classifier: shapes per architecture, padding handling, freezing, snapshot copies."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.training.config import ModelConfig

from core.training.model import EmbeddingClassifier


def _model(arch, **kw):
    return EmbeddingClassifier(ModelConfig(arch=arch, vocab_size=20, dim=6, n_classes=3,
                                           hidden=5), **kw)


IDS = torch.tensor([[2, 3, 4, 0, 0], [5, 6, 7, 8, 9], [1, 0, 0, 0, 0]])


@pytest.mark.parametrize("arch, pooled", [("bag", 6), ("cnn", 5), ("gru", 10)])
def test_shapes(arch, pooled):
    model = _model(arch)
    assert model.pool(IDS).shape == (3, pooled)
    assert model(IDS).shape == (3, 3)
    assert model.pooled_dim == pooled


@pytest.mark.parametrize("arch", ["bag", "cnn", "gru"])
def test_padding_does_not_change_document_vector(arch):
    model = _model(arch).eval()
    short = torch.tensor([[2, 3, 4]])
    padded = torch.tensor([[2, 3, 4, 0, 0, 0]])
    torch.testing.assert_close(model.pool(short), model.pool(padded))


def test_bag_pool_is_mean_of_word_vectors():
    weights = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    model = _model("bag", weights=weights)
    expected = weights[[2, 3, 4]].mean(axis=0)
    np.testing.assert_allclose(model.pool(IDS)[0].detach().numpy(), expected, rtol=1e-5)


def test_embedding_matrix_is_a_copy():
    model = _model("bag")
    snap = model.embedding_matrix()
    with torch.no_grad():
        model.embedding.weight.add_(1.0)
    assert not np.allclose(snap, model.embedding_matrix())


@pytest.mark.parametrize("arch", ["bag", "cnn", "gru"])
def test_a_frozen_table_does_not_move_while_the_rest_learns(arch):
    """A training step over every parameter (however freezing is done): the frozen table
    keeps its values, the output layer moves; unfrozen, the table moves too."""
    weights = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    for freeze in (True, False):
        model = _model(arch, weights=weights, freeze=freeze)
        out_before = model.out.weight.detach().clone()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        torch.nn.functional.cross_entropy(model(IDS), torch.tensor([0, 1, 2])).backward()
        opt.step()
        moved = not np.allclose(model.embedding_matrix(), weights)
        assert moved is not freeze
        assert not torch.equal(model.out.weight, out_before)


def test_wrong_weight_shape():
    with pytest.raises(ValueError, match="embedding weights must have shape"):
        _model("bag", weights=np.zeros((19, 6), dtype=np.float32))


@pytest.mark.parametrize("field, value", [("arch", "lstm"), ("vocab_size", 1), ("dim", 0),
                                          ("n_classes", 1), ("hidden", 0), ("kernel_size", 99)],
                         ids=["arch", "vocab_size", "dim", "n_classes", "hidden", "kernel_size"])
def test_bad_model_config(field, value):
    kwargs = dict(arch="bag", vocab_size=20, dim=6, n_classes=3)
    kwargs[field] = value
    with pytest.raises(ValueError, match=field):
        ModelConfig(**kwargs)


def test_bag_flat_input_matches_padded():
    model = _model("bag").eval()
    flat = torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 1])
    offsets = torch.tensor([0, 3, 8])
    torch.testing.assert_close(model(flat, offsets), model(IDS))


@pytest.mark.parametrize("arch", ["cnn", "gru"])
def test_offsets_refused_outside_bag(arch):
    with pytest.raises(ValueError, match="bag"):
        _model(arch).pool(torch.tensor([2, 3, 4]), torch.tensor([0]))
