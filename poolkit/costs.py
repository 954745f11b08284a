"""What a layer costs, counted: parameters, multiply-adds, and max pooling's comparisons window by window.

The lesson's Q&A (why pooling is used less) and the cost exercise use these numbers."""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .trace import trace


def count_comparisons(c, h, w, kernel_size, stride=None, padding=0):
    """Max pooling's comparisons, counted one window at a time with poolkit.trace: a window of n values
    (input and padding) needs n - 1 comparisons, and each of the c channels has the same windows."""
    steps = trace(torch.zeros(h, w), kernel_size, stride, padding)
    return c * sum(len(step.values) - 1 for step in steps)


def counted_params(module):
    """Parameters of a module, counted."""
    return sum(p.numel() for p in module.parameters())


def counted_macs(module, X):
    """Multiply-adds of module(X), counted by PyTorch's FlopCounterMode (1 multiply-add = 2 FLOPs)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(X)
    return counter.get_total_flops() // 2


def counted_comparisons(module, X):
    """Comparisons of every nn.MaxPool2d in module (run in order on X), counted window by window."""
    total = 0
    with torch.no_grad():
        for layer in (module if isinstance(module, nn.Sequential) else [module]):
            if isinstance(layer, nn.MaxPool2d):
                total += count_comparisons(X.shape[1], *X.shape[2:], layer.kernel_size, layer.stride,
                                           layer.padding)
            X = layer(X)
    return total
