"""The lesson maths (poolkit.costs) and the training study behind one call (poolkit.training)."""

import pytest
import torch
from torch import nn

from poolkit import costs, training
from poolkit.datasets import make_shapes, random_shifts


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
    perfect = [0.5] * 10 + [1.0, 0.999, 1.0, 1.0, 0.998]  # one or two of 1000 images: noise even at p = 1
    assert synthetic(**{"max pool": [perfect]}).settled("max pool") == [True]


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


# ----------------------------------------------------------------------------------------------------
# The shift study: data made in a box, tested beyond it, with and without augmentation
# ----------------------------------------------------------------------------------------------------

def test_shapes_in_a_box_start_inside_it_and_outside_d_moves_the_same_image_d_pixels_beyond():
    box = range(8, 12)
    X, y = make_shapes(60, seed=3, noise=0.0, box=box)
    rows, cols = X[:, 0].amax(2) > 0, X[:, 0].amax(1) > 0  # (n, 28): rows / columns the stamp covers
    full = y != training.SHAPE_NAMES.index("bar")           # every other stamp fills its 9 x 9 square
    assert all(r.nonzero()[0].item() in box and c.nonzero()[0].item() in box
               for r, c in zip(rows[full], cols[full], strict=True))
    edge, edge_y = make_shapes(60, seed=3, noise=0.0, box=box, outside=0)
    for d in (1, 5, 8):
        moved, moved_y = make_shapes(60, seed=3, noise=0.0, box=box, outside=d)
        assert torch.equal(moved_y, edge_y)
        for a, b in zip(edge, moved, strict=True):  # the same stamp, d pixels further in one direction
            rolls = [torch.roll(a, sign * d, dim) for sign in (1, -1) for dim in (1, 2)]
            assert sum(torch.equal(b, r) for r in rolls) == 1
    noisy = [make_shapes(30, seed=2, box=box, outside=d)[0] for d in (0, 4)]
    assert torch.equal(noisy[0].amax((1, 2, 3)), noisy[1].amax((1, 2, 3)))  # same brightness
    assert torch.equal(make_shapes(40, seed=1)[0], make_shapes(40, seed=1, box=range(20))[0])  # the default


def test_bad_boxes_and_shifts_name_the_parameter_the_rule_and_the_fix():
    with pytest.raises(ValueError, match=r"box=range\(15, 22\): .*inside range\(0, 20\).*Fix"):
        make_shapes(5, box=range(15, 22))
    with pytest.raises(ValueError, match=r"outside=9: must be an int from 0 to 8.*Fix: outside <= 8"):
        make_shapes(5, box=range(8, 12), outside=9)
    with pytest.raises(ValueError, match=r"outside=-1"):
        make_shapes(5, box=range(8, 12), outside=-1)


def test_random_shifts_rolls_each_image_by_its_own_shift_of_at_most_max_shift():
    X = torch.randn(50, 2, 28, 28)
    out = random_shifts(X, 3, torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)
    dy, dx = (torch.randint(-3, 4, (50, 1), generator=gen) for _ in range(2))
    for i in range(50):
        assert torch.equal(out[i], torch.roll(X[i], (int(dy[i]), int(dx[i])), (1, 2)))
    assert len({(int(a), int(b)) for a, b in zip(dy, dx, strict=True)}) > 20  # really random
    assert torch.equal(random_shifts(X, 0, torch.Generator()), X)
    box, _ = make_shapes(20, seed=0, noise=0.0, box=training.BOX)
    moved = random_shifts(box, 4, torch.Generator().manual_seed(0))
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False  # stamps cover rows and columns 8-19; moved by at most 4, none wraps around
    assert not moved[:, 0, border].any()
    assert torch.equal(moved.flatten(1).sort(1).values, box.flatten(1).sort(1).values)  # a permutation


def test_a_tiny_shift_study_is_reproducible_and_judges_every_shift(capsys):
    def tiny():
        return training.run_shift_study(num_epochs=2, n_train=48, n_test=30, seeds=(0,), shifts=(0, 2, 5))
    first, second = tiny(), tiny()
    assert first.curves == second.curves
    assert list(first.arms) == ["max pool", "stride-2 conv", "stride-2 conv + shifts ±4"]
    assert all(len(first.curves[arm][d][0]) == 2 for arm in first.arms for d in (0, 2, 5))
    assert first.at(5).curves["max pool"] == first.curves["max pool"][5]
    plain = training.train_shifted("stride-2 conv", 0, 0, 2, 48, 30, shifts=(0, 2, 5))[0]
    assert {d: [late] for d, late in plain.items()} == first.curves["stride-2 conv"]  # as trained alone
    assert first.curves["stride-2 conv + shifts ±4"] != first.curves["stride-2 conv"]  # augmentation acts
    sentences = training.shift_takeaway(first)
    assert sentences[0].startswith("训练完了吗？没有：max pool（每个平移，每个种子）")
    assert all(s.endswith("。") for s in sentences)
    assert sentences[-1].startswith("这次运行：1 个种子 × 3 个网络 × 2 轮")
    assert all("前 2 轮里" in s for s in sentences[2:-1])


def shift_study(**curves):
    """A ShiftStudy with the given late accuracies: arm -> {shift: [one list of 5 epochs per seed]}."""
    arms = {"max pool": ("max pool", 0), "stride-2 conv": ("stride-2 conv", 0),
            "stride-2 conv + shifts ±4": ("stride-2 conv", 4)}
    shifts = tuple(next(iter(curves.values())))
    study = training.ShiftStudy(30, 1000, (0, 1), shifts, training.BOX, arms=arms)
    study.curves = {name: curves[key] for name, key in zip(arms, ("pool", "plain", "aug"), strict=True)}
    study.seconds = {name: [1.0, 1.0] for name in arms}
    return study


def flat(*per_seed):
    return [[a] * 5 for a in per_seed]


def test_shift_verdicts_group_shifts_and_say_how_much_of_the_gap_augmentation_closes():
    study = shift_study(
        pool={0: flat(1, 1), 1: flat(0.9, 0.92), 2: flat(0.9, 0.92), 3: flat(0.6, 0.62), 4: flat(0.3, 0.5)},
        plain={0: flat(1, 1), 1: flat(0.5, 0.55), 2: flat(0.5, 0.55), 3: flat(0.5, 0.52), 4: flat(0.3, 0.5)},
        aug={0: flat(1, 1), 1: flat(0.99, 0.98), 2: flat(0.99, 0.98), 3: flat(0.55, 0.57),
             4: [[0.3] * 5, [0.5, 0.6, 0.4, 0.5, 0.5]]})
    done, seen, near, three, far, run = training.shift_takeaway(study)
    assert done == ("训练完了吗？没有：stride-2 conv + shifts ±4（平移 4 像素，种子 1）"
                    "最后 5 轮的测试精度还在变化（超过测试噪声），带「前 30 轮里」的判断比的是谁学得快；"
                    "把 num_epochs 调大再运行，看判断变不变。")
    assert seen == ("平移 0 像素（训练时见过的位置）：后期测试精度平均 max pool 1.000、"
                    "stride-2 conv 1.000、stride-2 conv + shifts ±4 1.000。")
    assert near == ("平移 1–2 像素：max pool 在每个种子上都比 stride-2 conv 好；"
                    "stride-2 conv + shifts ±4 在每个种子上都比 max pool 好。"
                    "增强补上的差距（按平均精度，100% 即补齐）：119%、119%。")
    assert three == ("平移 3 像素：max pool 在每个种子上都比 stride-2 conv 好；"
                     "stride-2 conv + shifts ±4 和 max pool 没有明确的胜负；"
                     "stride-2 conv + shifts ±4 和 stride-2 conv 没有明确的胜负。"
                     "增强补上的差距（按平均精度，100% 即补齐）：50%。")
    assert far.startswith("平移 4 像素：前 30 轮里，max pool 和 stride-2 conv 没有明确的胜负；")
    assert "补上" not in far
    assert run == "这次运行：2 个种子 × 3 个网络 × 30 轮，每个平移 1000 张测试图，训练共用 6 秒。"
    table = training.shift_table(study).splitlines()
    assert table[2].split()[-1] == "119%" and table[4].split()[-1] == "50%" and table[5].split()[-1] == "-"


def test_settled_shift_studies_say_so_and_a_pooling_lead_kept_by_augmentation_is_named():
    study = shift_study(pool={0: flat(1, 1), 1: flat(0.9, 0.92)}, plain={0: flat(1, 1), 1: flat(0.5, 0.55)},
                        aug={0: flat(1, 1), 1: flat(0.6, 0.62)})
    done, _, one, _ = training.shift_takeaway(study)
    assert done.startswith("训练完了吗？每个网络在每个种子、每个平移上") and "前 " not in one
    assert one == ("平移 1 像素：max pool 在每个种子上都比 stride-2 conv 好；"
                   "max pool 在每个种子上都比 stride-2 conv + shifts ±4 好；"
                   "stride-2 conv + shifts ±4 在每个种子上都比 stride-2 conv 好。"
                   "增强补上的差距（按平均精度，100% 即补齐）：22%。")
