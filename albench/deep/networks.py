"""The networks behind the torch learners: an MLP and a small CNN.

Both split into ``body`` (input -> penultimate layer, the embedding) and
``head`` (a linear layer to the class logits), so the learner can read the
embedding (BADGE, core-set) and grow the head when a new class appears.

Randomness never comes from torch's global generator: ``build`` creates the
parameters on the meta device and initialises them from an explicit
``torch.Generator``, and ``SeededDropout`` draws its masks from a generator the
learner attaches for the duration of a call. Runs in parallel threads therefore
cannot disturb each other, and a seed fixes the whole fit on the CPU.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from albench.deep import require

torch = require("torch")
nn = torch.nn


class SeededDropout(nn.Module):
    """Inverted dropout with masks from an attached generator.

    Active while training and, for Monte Carlo dropout (Gal and Ghahramani,
    2016), while ``mc`` is set; the identity otherwise.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.mc = False
        self.generator = None

    def forward(self, x):
        if self.p == 0 or not (self.training or self.mc):
            return x
        if self.generator is None:
            raise RuntimeError("SeededDropout needs a generator (use networks.dropout_from)")
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
        return x * mask / keep


@contextmanager
def dropout_from(net: nn.Module, generator, mc: bool = False):
    """Draw every dropout mask of ``net`` from ``generator``; ``mc`` keeps dropout on in eval mode."""
    layers = [m for m in net.modules() if isinstance(m, SeededDropout)]
    for m in layers:
        m.generator, m.mc = generator, mc
    try:
        yield net
    finally:  # generators are not kept: the fitted learner stays picklable
        for m in layers:
            m.generator, m.mc = None, False


class MLP(nn.Module):
    """``depth`` blocks of Linear(width) -> ReLU -> dropout, then a linear head."""

    def __init__(self, n_features: int, n_classes: int, width: int, depth: int, dropout: float):
        super().__init__()
        layers, d = [], n_features
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.ReLU(), SeededDropout(dropout)]
            d = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


class SmallCNN(nn.Module):
    """Two conv blocks, a dense layer and a linear head, for flattened images.

    conv3x3(channels) -> ReLU -> maxpool2 -> conv3x3(2*channels) -> ReLU ->
    maxpool2 -> dropout -> dense(width) -> ReLU -> dropout -> head: modelled on
    the network Gal, Islam and Ghahramani (2017) used for BALD on MNIST (two
    convolutions, max pooling, dropout, a dense layer with dropout), pooling
    after each convolution so that 8x8 to 32x32 inputs stay cheap on a CPU. A
    pooling step is skipped where the feature map is already 1 pixel wide.
    Input rows are flattened (C, H, W) images.
    """

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int, channels: int, width: int,
                 dropout: float):
        super().__init__()
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        layers = []
        for c_in, c_out in ((c, channels), (channels, 2 * channels)):
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.ReLU()]
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.body = nn.Sequential(SeededDropout(dropout), nn.Linear(2 * channels * h * w, width), nn.ReLU(),
                                  SeededDropout(dropout))
        self.head = nn.Linear(width, n_classes)

    def embed(self, x):
        x = self.features(x.reshape(-1, *self.image_shape))
        return self.body(x.flatten(1))

    def forward(self, x):
        return self.head(self.embed(x))


def penultimate(net: nn.Module, x):
    """The input of the head (the embedding) for a batch."""
    return net.embed(x) if hasattr(net, "embed") else net.body(x)


def infer_image_shape(n_features: int) -> tuple[int, int, int]:
    """(1, s, s) when ``n_features`` = s*s, (3, s, s) when it is 3*s*s.

    Unambiguous: 3*s*s is never a perfect square. Covers digits (8x8), MNIST,
    FashionMNIST (28x28) and CIFAR (3x32x32).
    """
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if channels * side * side == n_features and side > 0:
            return channels, side, side
    raise ValueError(f"cannot infer an image shape from {n_features} features (neither s*s nor 3*s*s); "
                     f"give the learner image_shape: [channels, height, width]")


def init_weights(net: nn.Module, generator) -> nn.Module:
    """PyTorch's default initialisation for Linear and Conv2d, drawn from ``generator``.

    Kaiming-uniform weights with a = sqrt(5) and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    as ``reset_parameters`` does with the global generator.
    """
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(m.weight[0].numel())
            nn.init.uniform_(m.bias, -bound, bound, generator=generator)
    return net


def build(make, generator, device) -> nn.Module:
    """``make()`` on the meta device (no global random draws), initialised on the CPU, moved to ``device``."""
    with torch.device("meta"):
        net = make()
    return init_weights(net.to_empty(device="cpu"), generator).to(device)


def grow_head(head: nn.Module, old_rows, n_classes: int, generator) -> nn.Module:
    """A head for ``n_classes`` classes that keeps the trained rows of the old classes.

    ``old_rows[i]`` is the new position of old class ``i``; the new classes' rows
    start from the default initialisation.
    """
    new = build(lambda: nn.Linear(head.in_features, n_classes), generator, "cpu")
    with torch.no_grad():
        new.weight[old_rows] = head.weight.detach().cpu()
        new.bias[old_rows] = head.bias.detach().cpu()
    return new.to(head.weight.device)
