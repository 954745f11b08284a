"""A small generated image dataset that needs no download: shapes drawn at random positions.

Every image is 28 x 28 (the size of Fashion-MNIST, so the same network fits both) and shows one of six
shapes, stamped at a random position with random brightness on a noisy background. A classifier must
recognise the shape wherever it is, which is exactly where translation invariance matters.

To ask how far a net's recognition carries to positions it never saw, `box` keeps the stamps inside a block of
positions and `outside` places them a given number of pixels beyond it; `random_shifts` is the data
augmentation (数据增强) that moves training images around.
"""

import torch

SHAPE_NAMES = ("plus", "cross", "square", "disc", "bar", "corner")
SIZE = 28
STAMP = 9  # every shape fits in a 9 x 9 stamp
POSITIONS = range(SIZE - STAMP + 1)  # the top rows (and left columns) at which a whole stamp fits


def _stamps():
    """The six 9 x 9 binary stamps, one per class, in the order of SHAPE_NAMES."""
    n = STAMP
    r = torch.arange(n)
    rows, cols = r[:, None].expand(n, n), r[None, :].expand(n, n)
    mid = n // 2
    plus = (rows == mid) | (cols == mid)
    cross = (rows == cols) | (rows + cols == n - 1)
    square = ((rows == 0) | (rows == n - 1) | (cols == 0) | (cols == n - 1))
    disc = (rows - mid) ** 2 + (cols - mid) ** 2 <= mid**2
    bar = (rows >= mid - 1) & (rows <= mid + 1)
    corner = (rows == 0) | (cols == 0)
    return torch.stack([plus, cross, square, disc, bar, corner]).float()


def make_shapes(n, seed=0, noise=0.25, box=POSITIONS, outside=None):
    """n images (n, 1, 28, 28) in [0, 1] and their labels (n,), balanced over the six shapes.

    box: the range of top rows and left columns a stamp may start at (default: anywhere it fits).
    outside=d: each stamp is moved to d pixels beyond the box instead, up, down, left or right (chosen per
    image), keeping its other coordinate; the same (n, seed, box) with any d gives the same shapes, noise
    and brightness, so only the position differs.
    Deterministic: the same arguments give the same tensors on every run."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r}: the number of images must be a positive int. Fix: e.g. n=1000.")
    _check_box(box, outside)
    gen = torch.Generator().manual_seed(seed)
    stamps = _stamps()
    labels = torch.arange(n) % len(SHAPE_NAMES)  # balanced: counts differ by at most one
    labels = labels[torch.randperm(n, generator=gen)]
    X = noise * torch.rand(n, 1, SIZE, SIZE, generator=gen)
    top = torch.randint(box.start, box.stop, (n,), generator=gen)
    left = torch.randint(box.start, box.stop, (n,), generator=gen)
    if outside is not None:
        way = torch.randint(0, 4, (n,), generator=gen)  # 0 down, 1 up, 2 right, 3 left
        beyond = torch.where(way % 2 == 0, box.stop - 1 + outside, box.start - outside)
        top, left = torch.where(way < 2, beyond, top), torch.where(way >= 2, beyond, left)
    brightness = 0.5 + 0.5 * torch.rand(n, generator=gen)
    for i in range(n):
        t, s = int(top[i]), int(left[i])
        patch = X[i, 0, t:t + STAMP, s:s + STAMP]
        X[i, 0, t:t + STAMP, s:s + STAMP] = torch.maximum(patch, brightness[i] * stamps[labels[i]])
    return X.clamp(0, 1), labels


def _check_box(box, outside):
    if not isinstance(box, range) or box.step != 1 or len(box) == 0 or \
            box.start < POSITIONS.start or box.stop > POSITIONS.stop:
        raise ValueError(f"box={box!r}: must be a non-empty range with step 1 inside {POSITIONS} (where a "
                         f"{STAMP}x{STAMP} stamp fits in {SIZE}x{SIZE}). Fix: e.g. box=range(8, 12).")
    room = min(box.start - POSITIONS.start, POSITIONS.stop - box.stop)
    if outside is not None and (not isinstance(outside, int) or not 0 <= outside <= room):
        raise ValueError(f"outside={outside!r}: must be an int from 0 to {room}, so that a stamp moved that "
                         f"far beyond box={box!r} in any direction still fits in the image. "
                         f"Fix: outside <= {room}.")


def random_shifts(X, max_shift, generator):
    """X (n, C, H, W) with each image moved by its own random (rows, cols), each from -max_shift to max_shift.

    Pixels pushed over one border come back in at the opposite one (torch.roll); with stamps at least
    max_shift from every border, only background noise wraps, so no shape is cut."""
    n, _, H, W = X.shape
    dy, dx = (torch.randint(-max_shift, max_shift + 1, (n, 1), generator=generator) for _ in range(2))
    rows = (torch.arange(H) - dy) % H  # (n, H): output row i reads input row i - dy
    cols = (torch.arange(W) - dx) % W
    return X[torch.arange(n)[:, None, None, None], torch.arange(X.shape[1])[None, :, None, None],
             rows[:, None, :, None], cols[:, None, None, :]]


def load_data_shapes(batch_size, n_train=3000, n_test=1200, seed=0, normalize=True):
    """(train_iter, test_iter) over generated shapes, like d2l.load_data_fashion_mnist but offline.

    normalize=True subtracts the training images' mean and divides by their standard deviation (the same two
    numbers for the test images): the raw pixels lie in [0, 1] with a mean near 0.13, and on such off-centre
    inputs plain SGD sits near chance for several epochs before it starts to learn. Training batches are
    shuffled with a seeded generator, so every epoch's order is reproducible."""
    X_train, y_train = make_shapes(n_train, seed=seed)
    X_test, y_test = make_shapes(n_test, seed=seed + 1)  # a different seed: unseen positions
    if normalize:
        mean, std = X_train.mean(), X_train.std()
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    train = torch.utils.data.TensorDataset(X_train, y_train)
    test = torch.utils.data.TensorDataset(X_test, y_test)
    shuffle = torch.Generator().manual_seed(seed)
    return (torch.utils.data.DataLoader(train, batch_size, shuffle=True, generator=shuffle),
            torch.utils.data.DataLoader(test, batch_size, shuffle=False))
