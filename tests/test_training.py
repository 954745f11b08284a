"""The lesson maths (poolkit.costs) and the training study behind one call (poolkit.training)."""

import pytest
import torch
from torch import nn

from poolkit import costs, training


def test_costs_by_formula_equal_costs_counted():
    X = torch.zeros(1, 6, 14, 14)
    conv = nn.Conv2d(6, 16, kernel_size=5)
    assert costs.counted_params(conv) == costs.conv_params(6, 16, 5) == 2416
    assert costs.counted_macs(conv, X) == costs.conv_macs(6, 16, 5, (14, 14)) == 240_000
    assert costs.conv_macs(6, 16, 5, (14, 14), stride=2) == 60_000
    net = nn.Sequential(conv, nn.MaxPool2d(2))
    assert costs.counted_comparisons(net, X) == costs.count_comparisons(16, 10, 10, 2) == 16 * 5 * 5 * 3
    assert costs.count_comparisons(1, 4, 4, 3, 2, 1) == 4 * 8  # 4 windows of 9 cells (padding included)


def test_lenet_variants_downsample_as_named():
    x = torch.zeros(2, 1, 28, 28)
    for variant in training.VARIANTS:
        assert training.lenet(variant)(x).shape == (2, 6)
    assert training.lenet("no downsampling")[:6](x).shape == (2, 16, 24, 24)
    with pytest.raises(ValueError, match="downsample='min pool'"):
        training.lenet("min pool")


def test_a_tiny_study_is_reproducible_and_ends_with_one_sentence_per_question(capsys):
    def tiny():
        return training.run_study(num_epochs=2, n_train=64, n_test=64, seeds=(0,),
                                  variants=("max pool", "stride-2 conv", "no downsampling"))
    first, second = tiny(), tiny()
    assert first.curves == second.curves and len(first.curves["max pool"][0]) == 2
    assert torch.get_num_threads() >= 1
    sentences = training.takeaway(first)
    assert len(sentences) == 3 and all(s.endswith("。") for s in sentences)
    assert not any("如果" in s for s in sentences)  # computed from the run, no conditional prose


def test_better_needs_every_seed_and_more_than_the_test_noise():
    study = training.Study(num_epochs=5, n_test=1000, seeds=(0, 1))
    study.curves = {"a": [[0.9] * 5, [0.92] * 5], "b": [[0.5] * 5, [0.55] * 5], "c": [[0.91] * 5, [0.9] * 5]}
    assert training.better(study, "a", "b") == "a" and training.better(study, "b", "a") == "a"
    assert training.better(study, "a", "c") is None  # ranges overlap
