"""The training study behind one call: LeNet-style nets that differ only in how they downsample.

    study = run_study(num_epochs=15, seeds=(0, 1, 2))   # trains every variant once per seed
    plot_study(study)                                     # test accuracy per epoch, and the summary bars
    for line in takeaway(study): print(line)              # one plain sentence per question, from the run

A verdict compares the late test accuracies (the median of the last 5 epochs). When a net's accuracy still
moves over those epochs by more than the test noise (`settled`), the verdict says it compares the first
num_epochs epochs (who learns faster), not the accuracies the nets end at.

Each run uses its own seeded data (poolkit.datasets), seeded weights and batch order, so a run is
reproducible; the variants of one seed share all three, so they differ only in the net.

The shift study asks the lecture's other half: can data augmentation (数据增强) stand in for pooling?

    shifts = run_shift_study(num_epochs=30, seeds=(0, 1, 2))  # shapes only in the middle; tests beyond it
    plot_shift_study(shifts)                                    # late test accuracy against the shift
    for line in shift_takeaway(shifts): print(line)             # the verdicts, by the same rule
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
from torch import nn

from .costs import counted_macs, counted_params
from .datasets import SHAPE_NAMES, load_data_shapes, make_shapes, random_shifts

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


def _init(net):
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)  # as d2l.train_ch6 initialises
    return net


def _epoch(net, train_iter, optimizer, loss, augment=None):
    """One pass of plain SGD over train_iter; augment, if given, transforms each batch first."""
    net.train()
    for X, y in train_iter:
        optimizer.zero_grad()
        loss(net(X if augment is None else augment(X)), y).backward()
        optimizer.step()


def train_once(downsample, seed, num_epochs, n_train, n_test, lr=0.05, batch_size=32):
    """Train one variant with plain SGD; return its test accuracy after every epoch and its seconds."""
    torch.manual_seed(seed)
    train_iter, test_iter = load_data_shapes(batch_size, n_train, n_test, seed=seed)
    test_iter = torch.utils.data.DataLoader(test_iter.dataset, batch_size=500)  # evaluating: large batches
    net = _init(lenet(downsample))
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=lr), nn.CrossEntropyLoss()
    test_acc, start = [], time.perf_counter()
    for _ in range(num_epochs):
        _epoch(net, train_iter, optimizer, loss)
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


@contextmanager
def _one_thread():
    """Run on one CPU thread: a fixed thread count keeps the float summation order, so reruns agree."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_study(num_epochs=15, n_train=1000, n_test=1000, seeds=(0, 1, 2), variants=VARIANTS):
    """Train every variant once per seed on one thread; print a line per variant; return the Study."""
    with _one_thread():
        return _run_study(Study(num_epochs, n_test, tuple(seeds)), n_train, n_test, variants)


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
    """The standard error of an accuracy p measured on n test images, sqrt(p (1 - p) / n), with two right
    and two wrong answers added (Agresti-Coull), so that p = 1 (or 0) does not count as noiseless."""
    p, n = (p * n + 2) / (n + 4), n + 4
    return (p * (1 - p) / n) ** 0.5


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


# ----------------------------------------------------------------------------------------------------
# The shift study: pooling against data augmentation (数据增强) on positions the training never showed
# ----------------------------------------------------------------------------------------------------

BOX = range(8, 12)  # training stamps start at rows and columns 8-11: 4 x 4 positions in the middle
SHIFTS = tuple(range(9))  # test stamps 0-8 pixels beyond those positions (as far as a 9x9 stamp fits)
ARMS = (("max pool", 0), ("stride-2 conv", 0), ("stride-2 conv", 4))  # (variant, max augmentation shift)
LATE = 5  # epochs that late() and settled() read


def arm_name(variant, augment):
    """The arm's label: the variant, plus ' + shifts ±k' when its training images are shifted up to k px."""
    return f"{variant} + shifts ±{augment}" if augment else variant


def train_shifted(variant, augment, seed, num_epochs, n_train, n_test, shifts=SHIFTS, box=BOX, lr=0.05,
                  batch_size=64):
    """Train one arm on stamps inside box; return {shift: its test accuracies of the last LATE epochs}
    and its seconds. augment > 0 shifts every training batch by up to augment pixels (random_shifts)."""
    torch.manual_seed(seed)
    X, y = make_shapes(n_train, seed=seed, box=box)
    mean, std = X.mean(), X.std()  # normalised as load_data_shapes does
    train = torch.utils.data.TensorDataset((X - mean) / std, y)
    train_iter = torch.utils.data.DataLoader(train, batch_size, shuffle=True,
                                             generator=torch.Generator().manual_seed(seed))
    tests = {}
    for d in shifts:  # the same test images at every shift: only the stamps' positions differ
        X_test, y_test = make_shapes(n_test, seed=seed + 1, box=box, outside=d)
        tests[d] = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset((X_test - mean) / std, y_test), batch_size=500)
    shifter = torch.Generator().manual_seed(10_000 + seed)  # its own stream: the batch order stays the same
    moved = (lambda batch: random_shifts(batch, augment, shifter)) if augment else None
    net = _init(lenet(variant))
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=lr), nn.CrossEntropyLoss()
    late, start = {d: [] for d in shifts}, time.perf_counter()
    for epoch in range(num_epochs):
        _epoch(net, train_iter, optimizer, loss, moved)
        if epoch >= num_epochs - LATE:
            for d, test_iter in tests.items():
                late[d].append(accuracy(net, test_iter))
    return late, time.perf_counter() - start


@dataclass
class ShiftStudy:
    """Every arm's late test accuracies at every shift, per seed, and its seconds."""
    num_epochs: int
    n_test: int  # test images per shift
    seeds: tuple
    shifts: tuple
    box: range
    arms: dict = field(default_factory=dict)     # arm name -> (variant, max augmentation shift)
    curves: dict = field(default_factory=dict)   # arm -> {shift: [last LATE test accs, one list per seed]}
    seconds: dict = field(default_factory=dict)  # arm -> [seconds, one per seed]

    def at(self, shift):
        """The Study of one shift, so that late(), settled() and better() judge it as in run_study."""
        study = Study(self.num_epochs, self.n_test, self.seeds)
        study.curves = {arm: runs[shift] for arm, runs in self.curves.items()}
        return study


def run_shift_study(num_epochs=30, n_train=1000, n_test=600, seeds=(0, 1, 2), arms=ARMS, shifts=SHIFTS,
                    box=BOX):
    """Train every arm once per seed on one thread; print a line per arm; return the ShiftStudy."""
    study = ShiftStudy(num_epochs, n_test, tuple(seeds), tuple(shifts), box)
    with _one_thread():
        for variant, augment in arms:
            name = arm_name(variant, augment)
            runs = [train_shifted(variant, augment, seed, num_epochs, n_train, n_test, shifts, box)
                    for seed in seeds]
            study.arms[name] = (variant, augment)
            study.curves[name] = {d: [r[0][d] for r in runs] for d in shifts}
            study.seconds[name] = [r[1] for r in runs]
            mean = [_mean_late(study.at(d), name) for d in shifts]
            print(f"{name:26s} late test acc at shifts {shifts[0]}-{shifts[-1]} px (mean of seeds): "
                  f"{' '.join(f'{a:.2f}' for a in mean)}   ({sum(study.seconds[name]):.1f} s)")
    return study


def plot_shift_study(study):
    """Late test accuracy against the shift, one line per arm (mean over seeds, min-max band)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, (_, augment) in study.arms.items():
        late = torch.tensor([study.at(d).late(name) for d in study.shifts])  # (shifts, seeds)
        line, = ax.plot(study.shifts, late.mean(1), marker="o", label=name)
        band = late.min(1).values, late.max(1).values
        ax.fill_between(study.shifts, *band, color=line.get_color(), alpha=0.2)
        if augment:
            ax.axvspan(0, min(augment, study.shifts[-1]), color=line.get_color(), alpha=0.07,
                       label=f"within the ±{augment} px of augmentation")
    ax.axhline(1 / len(SHAPE_NAMES), color="gray", linestyle="--", label="chance")
    ax.set(title="test accuracy against shift (mean, min-max over seeds)", ylim=(0, 1.05),
           xlabel="pixels beyond every training position", ylabel="late test accuracy", xticks=study.shifts)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.show()


def shift_table(study):
    """One line per shift: each arm's late test accuracy (mean over seeds) and how much of the gap between
    the plain strided arm and pooling the augmented arm closes (where pooling leads on every seed)."""
    pool, plain, augmented = _shift_arms(study)
    names = list(study.arms)
    lines = ["shift  " + "  ".join(f"{n:>24s}" for n in names) + "  gap closed"]
    for d in study.shifts:
        at = study.at(d)
        closed = f"{_closed(at, pool, plain, augmented):10.0%}" if better(at, pool, plain) == pool else \
            f"{'-':>10s}"
        lines.append(f"{d:2d} px  " + "  ".join(f"{_mean_late(at, n):24.3f}" for n in names) + f"  {closed}")
    return "\n".join(lines)


def _shift_arms(study):
    """(pooling arm, strided arm without augmentation, strided arm with it): the three arms of ARMS."""
    by = {arm: name for name, arm in study.arms.items()}
    augmented = next(name for name, (v, a) in study.arms.items() if a and (v, 0) in by and v != "max pool")
    plain = by[(study.arms[augmented][0], 0)]
    return by[("max pool", 0)], plain, augmented


def _closed(at, pool, plain, augmented):
    """The share of the gap (pool - plain, mean late accuracies) that augmented makes up: 1 is all of it."""
    base = _mean_late(at, plain)
    return (_mean_late(at, augmented) - base) / (_mean_late(at, pool) - base)


_WINS = {"a": "{a} 在每个种子上都比 {b} 好", "b": "{b} 在每个种子上都比 {a} 好",
         None: "{a} 和 {b} 没有明确的胜负"}


def _relation(at, a, b):
    winner = better(at, a, b)
    return _WINS["a" if winner == a else "b" if winner == b else None].format(a=a, b=b)


def _runs(numbers):
    """Sorted ints as runs: [1, 2, 3, 5] -> '1–3、5'."""
    runs = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return "、".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def shift_takeaway(study):
    """Plain sentences computed from this shift study: whether the nets have settled, how they do where the
    training put the shapes, then, for each run of shifts with the same verdicts, whether pooling beats the
    strided net, and whether (and by how much) augmentation closes that gap; then the run itself."""
    pool, plain, augmented = _shift_arms(study)
    sentences = [_shift_settled_sentence(study)]
    seen = study.at(study.shifts[0])
    sentences.append(f"平移 {study.shifts[0]} 像素（训练时见过的位置）：后期测试精度平均 " + "、".join(
        f"{name} {_mean_late(seen, name):.3f}" for name in study.arms) + "。")
    groups = []
    for d in study.shifts[1:]:
        at = study.at(d)
        key = (better(at, pool, plain), better(at, augmented, pool), better(at, augmented, plain),
               bool(_moving(at, pool, plain, augmented)))
        if groups and groups[-1][0] == key and groups[-1][1][-1] == d - 1:
            groups[-1][1].append(d)
        else:
            groups.append((key, [d]))
    for (gap, _, _, moving), ds in groups:
        at = study.at(ds[0])
        parts = [_relation(at, pool, plain), _relation(at, augmented, pool)]
        if better(at, augmented, pool) != augmented:
            parts.append(_relation(at, augmented, plain))
        text = "；".join(parts)
        if gap == pool:
            shares = "、".join(f"{_closed(study.at(d), pool, plain, augmented):.0%}" for d in ds)
            text += f"。增强补上的差距（按平均精度，100% 即补齐）：{shares}"
        first = f"前 {study.num_epochs} 轮里，" if moving else ""
        sentences.append(f"平移 {_runs(ds)} 像素：{first}{text}。")
    seconds = sum(map(sum, study.seconds.values()))
    sentences.append(f"这次运行：{len(study.seeds)} 个种子 × {len(study.arms)} 个网络 × "
                     f"{study.num_epochs} 轮，"
                     f"每个平移 {study.n_test} 张测试图，训练共用 {seconds:.0f} 秒。")
    return sentences


def _shift_settled_sentence(study):
    """Which arms have not settled, at which shifts and seeds (settled() at every shift)."""
    moving = []
    for name in study.arms:
        still = {d: [seed for seed, ok in zip(study.seeds, study.at(d).settled(name), strict=True) if not ok]
                 for d in study.shifts}
        shifts = [d for d in study.shifts if still[d]]
        seeds = sorted({seed for d in shifts for seed in still[d]})
        if shifts:
            where = "每个平移" if shifts == list(study.shifts) else f"平移 {_runs(shifts)} 像素"
            who = "每个种子" if seeds == list(study.seeds) else "种子 " + "、".join(map(str, seeds))
            moving.append(f"{name}（{where}，{who}）")
    if not moving:
        return ("训练完了吗？每个网络在每个种子、每个平移上，最后 5 轮的测试精度都已稳定"
                "（变化在测试噪声之内），"
                "所以下面比的是训练到稳定以后的精度。")
    return (f"训练完了吗？没有：{'、'.join(moving)}最后 5 轮的测试精度还在变化（超过测试噪声），"
            f"带「前 {study.num_epochs} 轮里」的判断比的是谁学得快；把 num_epochs 调大再运行，看判断变不变。")
