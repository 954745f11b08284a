"""The training study behind one call: LeNet-style nets that differ only in how they downsample.

    study = run_study(num_epochs=15, seeds=(0, 1, 2))   # trains every variant once per seed
    plot_study(study)                                     # test accuracy per epoch, and the summary bars
    for line in takeaway(study): print(line)              # one plain sentence per question, from the run

A verdict compares the late test accuracies (the median of the last 5 epochs). When a net's accuracy still
moves over those epochs by more than the test noise (`settled`), the verdict says it compares the first
num_epochs epochs (who learns faster), not the accuracies the nets end at.

Each run uses its own seeded data (poolkit.datasets), seeded weights and batch order, so a run is
reproducible; the variants of one seed share all three, so they differ only in the net.
"""

import time
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
from torch import nn

from .costs import counted_macs, counted_params
from .datasets import SHAPE_NAMES, load_data_shapes

VARIANTS = ("max pool", "avg pool", "stride-2 conv", "no downsampling")


N_CLASSES = len(SHAPE_NAMES)


def lenet(downsample, n_classes=N_CLASSES):
    """LeNet's structure with ReLU, whose two downsampling steps are `downsample`, one of VARIANTS.

    (d2l's LeNet, lecture 23, uses sigmoid and 2x2 average pooling; "avg pool" here is that with ReLU.)"""
    if downsample not in VARIANTS:
        raise ValueError(f"downsample={downsample!r}: must be one of {VARIANTS}.")
    stride = 2 if downsample == "stride-2 conv" else 1
    pool = {"max pool": nn.MaxPool2d(2), "avg pool": nn.AvgPool2d(2)}.get(downsample, nn.Identity())
    side = 24 if downsample == "no downsampling" else 5  # height = width of the last feature maps
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2, stride=stride), nn.ReLU(), pool,
        nn.Conv2d(6, 16, kernel_size=5, stride=stride), nn.ReLU(), pool,
        nn.Flatten(),
        nn.Linear(16 * side * side, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, n_classes))


def accuracy(net, loader):
    """The fraction of loader's images that net classifies correctly."""
    net.eval()
    with torch.no_grad():
        right = sum((net(X).argmax(1) == y).sum().item() for X, y in loader)
    return right / len(loader.dataset)


def train_once(downsample, seed, num_epochs, n_train, n_test, lr=0.05, batch_size=32):
    """Train one variant with plain SGD; return its test accuracy after every epoch and its seconds."""
    torch.manual_seed(seed)
    train_iter, test_iter = load_data_shapes(batch_size, n_train, n_test, seed=seed)
    test_iter = torch.utils.data.DataLoader(test_iter.dataset, batch_size=500)  # evaluating: large batches
    net = lenet(downsample)
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)  # as d2l.train_ch6 initialises
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=lr), nn.CrossEntropyLoss()
    test_acc, start = [], time.perf_counter()
    for _ in range(num_epochs):
        net.train()
        for X, y in train_iter:
            optimizer.zero_grad()
            loss(net(X), y).backward()
            optimizer.step()
        test_acc.append(accuracy(net, test_iter))
    whole_train = torch.utils.data.DataLoader(train_iter.dataset, batch_size=500)
    return test_acc, time.perf_counter() - start, accuracy(net, whole_train)


@dataclass
class Study:
    """Every run's test accuracy per epoch, its time and its final training accuracy, per variant."""
    num_epochs: int
    n_test: int
    seeds: tuple
    curves: dict = field(default_factory=dict)     # variant -> [test acc per epoch, one list per seed]
    seconds: dict = field(default_factory=dict)    # variant -> [seconds, one per seed]
    train_acc: dict = field(default_factory=dict)  # variant -> [final train acc, one per seed]
    params: dict = field(default_factory=dict)     # variant -> parameters
    macs: dict = field(default_factory=dict)       # variant -> multiply-adds per image
    layer_macs: dict = field(default_factory=dict)  # variant -> {layer name: multiply-adds per image}

    def late(self, variant):
        """Per seed: the median test accuracy of the last 5 epochs (a late loss spike cannot decide it)."""
        return [float(torch.tensor(c[-5:]).median()) for c in self.curves[variant]]

    def settled(self, variant):
        """Per seed: True if the last 5 epochs' test accuracies lie within the test noise of each other
        (highest minus lowest at most two standard errors of a difference, 2 * sqrt(2) * SE at their
        median), so late() measures a plateau; False if they still rise or swing, or if there are fewer
        than 5 epochs."""
        return [len(c) >= 5 and max(c[-5:]) - min(c[-5:]) <= 2 * 2 ** 0.5 * _noise(late, self.n_test)
                for c, late in zip(self.curves[variant], self.late(variant), strict=True)]


def run_study(num_epochs=15, n_train=1000, n_test=1000, seeds=(0, 1, 2), variants=VARIANTS):
    """Train every variant once per seed and return the Study; prints one line per variant as it goes.

    Runs on one CPU thread: these small nets train fastest that way (two threads on a busy two-core machine
    were 20 times slower), and a fixed thread count keeps the float summation order, so reruns agree."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_study(Study(num_epochs, n_test, tuple(seeds)), n_train, n_test, variants)
    finally:
        torch.set_num_threads(threads)


def layer_macs(net, X):
    """Multiply-adds per image of each Conv2d and Linear layer of the Sequential net, run in order on X:
    {"conv1": ..., "conv2": ..., "fc1": ..., ...}."""
    found, counts = {}, {"conv": 0, "fc": 0}
    with torch.no_grad():
        for layer in net:
            kind = {nn.Conv2d: "conv", nn.Linear: "fc"}.get(type(layer))
            if kind:
                counts[kind] += 1
                found[f"{kind}{counts[kind]}"] = counted_macs(layer, X) // X.shape[0]
            X = layer(X)
    return found


def _run_study(study, n_train, n_test, variants):
    num_epochs, seeds = study.num_epochs, study.seeds
    x = torch.zeros(1, 1, 28, 28)
    for variant in variants:
        runs = [train_once(variant, seed, num_epochs, n_train, n_test) for seed in seeds]
        study.curves[variant] = [r[0] for r in runs]
        study.seconds[variant] = [r[1] for r in runs]
        study.train_acc[variant] = [r[2] for r in runs]
        study.params[variant] = counted_params(lenet(variant))
        study.macs[variant] = counted_macs(lenet(variant), x)
        study.layer_macs[variant] = layer_macs(lenet(variant), x)
        late = ", ".join(f"{a:.3f}" for a in study.late(variant))
        print(f"{variant:16s} late test acc per seed: {late}   ({sum(study.seconds[variant]):.1f} s)")
    return study


def plot_study(study):
    """Left: test accuracy per epoch (mean over seeds, min-max band). Right: parameters (log scale)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    names = list(study.curves)
    for name in names:
        curves = torch.tensor(study.curves[name])
        epochs = range(1, curves.shape[1] + 1)
        left.plot(epochs, curves.mean(0), label=name)
        left.fill_between(epochs, curves.min(0).values, curves.max(0).values, alpha=0.2)
    left.axhline(1 / len(SHAPE_NAMES), color="gray", linestyle="--", label="chance")
    left.set(title="test accuracy per epoch (mean, min-max over seeds)", xlabel="epoch", ylim=(0, 1.05))
    left.legend(fontsize=8, loc="lower right")
    right.bar(names, [study.params[n] for n in names], color=[f"C{i}" for i in range(len(names))])
    right.set(title="parameters (log scale)", yscale="log")
    right.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    plt.show()


def _noise(p, n):
    return (p * (1 - p) / n) ** 0.5  # standard error of an accuracy p measured on n test images


def better(study, a, b):
    """a if a's worst seed beats b's best by more than two standard errors of the test set, b if the
    reverse, else None (the seeds' ranges overlap, or differ by less than the test noise)."""
    for hi, lo in [(a, b), (b, a)]:
        worst, best = min(study.late(hi)), max(study.late(lo))
        if worst - best > 2 * (_noise(worst, study.n_test) ** 2 + _noise(best, study.n_test) ** 2) ** 0.5:
            return hi
    return None


def _moving(study, *variants):
    """The variants among `variants` with at least one seed whose accuracy has not settled."""
    return [v for v in variants if not all(study.settled(v))]


def _verdict(study, a, b):
    """Who is better, from better(), with both late accuracies (mean over seeds); prefixed with 'in the
    first N epochs' when a or b has not settled."""
    means = f"后期测试精度平均 {_mean_late(study, a):.3f} 对 {_mean_late(study, b):.3f}"
    winner = better(study, a, b)
    if winner is None:
        text = f"{a} 和 {b} 没有明确的胜负（{means}；各种子的范围重叠，或差距在测试噪声之内）"
    else:
        text = f"{winner} 在每个种子上都比 {b if winner == a else a} 好（{means}）"
    return f"前 {study.num_epochs} 轮里，{text}" if _moving(study, a, b) else text


def _mean_late(study, variant):
    return sum(study.late(variant)) / len(study.seeds)


def _macs_sentence(study, a, b):
    """How b's multiply-adds per image compare with a's, in total and layer by layer."""
    la, lb = study.layer_macs[a], study.layer_macs[b]
    convs = [n for n in la if n.startswith("conv")]
    fcs = [n for n in la if n.startswith("fc")]
    conv_a, conv_b = sum(la[n] for n in convs), sum(lb[n] for n in convs)
    fc_a, fc_b = sum(la[n] for n in fcs), sum(lb[n] for n in fcs)
    per_conv = "，".join(f"{n} {la[n]:,} 对 {lb[n]:,}" for n in convs)
    fc_change = "一样多" if fc_a == fc_b else f"是 {fc_b / fc_a:.2f} 倍"
    return (f"乘加次数（每张图，{a} 对 {b}）：{study.macs[a]:,} 对 {study.macs[b]:,}，{b} 是 {a} 的 "
            f"{study.macs[b] / study.macs[a]:.2f} 倍。按层看：{per_conv}，"
            f"卷积层合计是 {conv_b / conv_a:.2f} 倍；"
            f"{len(fcs)} 个全连接层合计 {fc_a:,} 对 {fc_b:,}，{fc_change}。")


def _settled_sentence(study):
    """Which nets have not settled (on which seeds), and what that means for the verdicts above."""
    moving = []
    for name in study.curves:
        still = [seed for seed, ok in zip(study.seeds, study.settled(name), strict=True) if not ok]
        if still:
            which = f"{len(still)} 个种子都是" if len(still) == len(study.seeds) else \
                "种子 " + "、".join(map(str, still))
            moving.append(f"{name}（{which}）")
    if not moving:
        return ["训练完了吗？每个网络在每个种子上，最后 5 轮的测试精度都已稳定（变化在测试噪声之内），"
                "所以下面比的是训练到稳定以后的精度。"]
    return [f"训练完了吗？没有：{'、'.join(moving)}最后 5 轮的测试精度还在变化（超过测试噪声）。",
            f"所以下面带「前 {study.num_epochs} 轮里」的判断比的是谁学得快，不是训练完以后谁更准；"
            f"把开头的 num_epochs 调大再运行（训练时间大致和轮数成正比），看判断变不变。"]


def takeaway(study):
    """Plain sentences computed from this study: whether the nets have settled (it frames every verdict),
    one per question (questions whose variants were not trained are left out) with the multiply-adds
    behind the first, and the run itself."""
    trained, sentences = set(study.curves), _settled_sentence(study)
    if {"max pool", "stride-2 conv"} <= trained:
        sentences.append(f"池化还需要吗？{_verdict(study, 'max pool', 'stride-2 conv')}。")
        sentences.append(_macs_sentence(study, "max pool", "stride-2 conv"))
    if {"max pool", "avg pool"} <= trained:
        sentences.append(f"最大还是平均？{_verdict(study, 'max pool', 'avg pool')}。")
    if {"max pool", "no downsampling"} <= trained:
        ratio = study.params["no downsampling"] / study.params["max pool"]
        sentences.append(f"不降采样会怎样？参数量是最大池化网络的 {ratio:.1f} 倍；"
                         f"{_verdict(study, 'max pool', 'no downsampling')}。")
    sentences.append(f"这次运行：{len(study.seeds)} 个种子 × {len(study.curves)} 个网络 × "
                     f"{study.num_epochs} 轮，训练共用 {sum(map(sum, study.seconds.values())):.0f} 秒。")
    return sentences
