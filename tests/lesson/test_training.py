"""The lesson maths (poolkit.costs) and the training study behind one call (poolkit.training)."""

import pytest
import torch
from torch import nn

from poolkit import costs, training


def test_costs_by_formula_equal_costs_counted():
    X = torch.zeros(1, 6, 14, 14)
    conv = nn.Conv2d(6, 16, kernel_size=5)
    assert costs.counted_params(conv) == (6 * 5 * 5 + 1) * 16 == 2416  # 16 kernels of 6x5x5, plus biases
    assert costs.counted_macs(conv, X) == 16 * 10 * 10 * (6 * 5 * 5) == 240_000  # outputs x (c_in k^2)
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
    # not settled (2 sentences), a question each for stride-2 and no downsampling, the multiply-adds, the run
    assert len(sentences) == 6 and all(s.endswith("。") for s in sentences)
    assert not any("如果" in s for s in sentences)  # computed from the run, no conditional prose
    assert first.layer_macs["max pool"] == {"conv1": 117_600, "conv2": 240_000, "fc1": 48_000,
                                            "fc2": 10_080, "fc3": 504}
    assert sum(first.layer_macs["stride-2 conv"].values()) == first.macs["stride-2 conv"] == 147_984


def test_better_needs_every_seed_and_more_than_the_test_noise():
    study = training.Study(num_epochs=5, n_test=1000, seeds=(0, 1))
    study.curves = {"a": [[0.9] * 5, [0.92] * 5], "b": [[0.5] * 5, [0.55] * 5], "c": [[0.91] * 5, [0.9] * 5]}
    assert training.better(study, "a", "b") == "a" and training.better(study, "b", "a") == "a"
    assert training.better(study, "a", "c") is None  # ranges overlap


def synthetic(num_epochs=15, **curves):
    """A Study with the given test-accuracy curves (one list per seed) and the real nets' costs."""
    study = training.Study(num_epochs=num_epochs, n_test=1000, seeds=tuple(range(len(curves["max pool"]))))
    study.curves = curves
    x = torch.zeros(1, 1, 28, 28)
    for variant in curves:
        study.params[variant] = costs.counted_params(training.lenet(variant))
        study.macs[variant] = costs.counted_macs(training.lenet(variant), x)
        study.layer_macs[variant] = training.layer_macs(training.lenet(variant), x)
        study.seconds[variant] = [1.0] * len(curves[variant])
    return study


FLAT = [0.5] * 10 + [0.99] * 5                                       # settled at 0.99
RISING = [0.5] * 10 + [0.80, 0.85, 0.88, 0.90, 0.93]                 # still climbing
SWINGING = [0.5] * 10 + [0.95, 0.96, 0.40, 0.95, 0.96]              # a late loss spike


def test_settled_means_the_last_five_epochs_stay_within_the_test_noise():
    study = synthetic(**{"max pool": [FLAT, RISING, SWINGING]})
    assert study.settled("max pool") == [True, False, False]
    nearly = [0.5] * 10 + [0.985, 0.99, 0.99, 0.99, 0.99]  # 0.005 apart: within 2 * sqrt(2) * SE = 0.009
    assert synthetic(**{"max pool": [nearly]}).settled("max pool") == [True]
    assert synthetic(num_epochs=3, **{"max pool": [[0.9] * 3]}).settled("max pool") == [False]  # too short


def test_a_verdict_on_nets_that_have_not_settled_says_it_covers_the_first_epochs_only():
    study = synthetic(**{"max pool": [FLAT, FLAT], "avg pool": [RISING, RISING]})
    moving, why, question, run = training.takeaway(study)
    assert question == ("最大还是平均？前 15 轮里，max pool 在每个种子上都比 avg pool 好"
                        "（后期测试精度平均 0.990 对 0.880）。")
    assert moving == "训练完了吗？没有：avg pool（2 个种子都是）最后 5 轮的测试精度还在变化（超过测试噪声）。"
    assert "下面带「前 15 轮里」" in why and "谁学得快" in why and "num_epochs 调大" in why
    assert run.startswith("这次运行：2 个种子 × 2 个网络 × 15 轮")


def test_a_verdict_on_settled_nets_has_no_caveat_and_names_only_the_seeds_that_move():
    settled = synthetic(**{"max pool": [FLAT, FLAT], "avg pool": [FLAT, [0.5] * 10 + [0.985] * 5]})
    done, question, _ = training.takeaway(settled)
    assert question.startswith("最大还是平均？max pool 和 avg pool 没有明确的胜负"
                               "（后期测试精度平均 0.990 对 0.988；")
    assert done.startswith("训练完了吗？每个网络在每个种子上") and "前 " not in question
    one_seed = synthetic(**{"max pool": [FLAT, SWINGING, FLAT], "stride-2 conv": [FLAT, FLAT, FLAT]})
    assert "max pool（种子 1）最后 5 轮" in training.takeaway(one_seed)[0]


def test_the_multiply_adds_sentence_explains_the_ratio_layer_by_layer():
    study = synthetic(**{"max pool": [FLAT], "stride-2 conv": [RISING]})
    assert training.takeaway(study)[3] == (
        "乘加次数（每张图，max pool 对 stride-2 conv）：416,184 对 147,984，"
        "stride-2 conv 是 max pool 的 0.36 倍。"
        "按层看：conv1 117,600 对 29,400，conv2 240,000 对 60,000，卷积层合计是 0.25 倍；"
        "3 个全连接层合计 58,584 对 58,584，一样多。")
