"""ProbCover (Yehuda, Dekel, Hacohen and Weinshall 2022, "Active Learning Through a Covering Lens", NeurIPS).

For small budgets: cover the pool with balls of radius delta around labelled
points. The graph has an edge x -> y when ||x - y|| < delta (self-loops
included); a point is covered once a labelled or picked point has an edge to
it. Each pick is the point with the most edges to uncovered points (ties at
random; the authors' code takes the lowest index), after which the points it
covers are removed, as in ``select_samples`` of the authors' code
(avihu111/TypiClust, ``pycls/al/prob_cover.py``). Once everything is covered,
the rest of the batch is random, as there.

delta (``radius``): a number, or ``null`` (default) for the paper's choice:
the largest delta whose ball purity is at least ``purity`` (0.95), with purity
measured against a k-means clustering of the points into as many clusters as
the data set has classes (seed 0, so the graph depends on the pool alone). A ball around x is pure when it holds points of x's
cluster only, i.e. when delta <= r_x, the distance from x to the nearest point
of another cluster; so that delta is the floor((1 - purity) N)-th smallest
r_x, computed exactly without a search. The paper works in a self-supervised
embedding; here it is the features, or a torch learner's embedding with
``space: auto`` (then rebuilt every cycle).

Memory: the ball graph is kept sparse (scikit-learn's ``radius_neighbors_graph``)
and holds one entry per edge; a radius that would give more than
``max_edges`` edges is refused with a clear error instead of filling memory.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from albench.strategy import Strategy, register
from ._common import SPACES, check_choice, fill_at_random, representation, same_pool


def purity_radius(X: np.ndarray, clusters: np.ndarray, purity: float) -> float:
    """The largest delta such that at least ``purity`` of the balls B(x, delta) are pure."""
    r = np.full(len(X), np.inf)
    for c in np.unique(clusters):
        inside = clusters == c
        if inside.all():
            continue
        dist, _ = NearestNeighbors(n_neighbors=1).fit(X[~inside]).kneighbors(X[inside])
        r[inside] = dist[:, 0]
    m = int(np.floor((1.0 - purity) * len(X) + 1e-9))  # (1 - 0.9) * 60 is 5.999...
    return float(np.sort(r)[min(m, len(X) - 1)])


def ball_graph(X: np.ndarray, radius: float, max_edges: int) -> sparse.csr_matrix:
    """Sparse 0/1 matrix, row x holding the points y with ||x - y|| < radius (x itself included)."""
    strict = np.nextafter(radius, 0.0)  # scikit-learn's radius is inclusive; the paper's ball is open
    nn = NearestNeighbors(radius=strict).fit(X)
    counts = np.array([len(a) for a in nn.radius_neighbors(X, return_distance=False)])
    if counts.sum() > max_edges:
        raise ValueError(f"probcover: radius {radius:.4g} gives {int(counts.sum())} edges on {len(X)} points, "
                         f"above max_edges={max_edges}; give a smaller radius")
    graph = nn.radius_neighbors_graph(X, mode="connectivity").tocsr()
    graph.data[:] = 1.0
    return graph


def probcover_picks(graph: sparse.csr_matrix, labelled: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to k greedy max-coverage picks among the unlabelled rows (stops when everything is covered)."""
    covered = np.asarray(graph[np.flatnonzero(labelled)].sum(axis=0)).ravel() > 0
    eligible = ~labelled.copy()
    picks = []
    for _ in range(min(k, int(eligible.sum()))):
        degree = graph @ (~covered).astype(float)
        degree[~eligible] = -1.0
        best = degree.max()
        if best <= 0:
            break
        pick = int(rng.choice(np.flatnonzero(degree == best)))
        picks.append(pick)
        eligible[pick] = False
        covered[graph[pick].indices] = True
    return np.asarray(picks, dtype=np.intp)


@register("probcover", "ProbCover: greedy max coverage of delta-balls (Yehuda et al. 2022)")
class ProbCover(Strategy):
    """ProbCover (see the module docstring). Params: ``radius`` (null: from ``purity``), ``purity`` (0.95),
    ``space`` (auto | features), ``max_edges`` (20,000,000)."""

    family = "probcover"

    def __init__(self, radius: float | None = None, purity: float = 0.95, space: str = "auto",
                 max_edges: int = 20_000_000):
        super().__init__(radius=radius, purity=purity, space=space, max_edges=max_edges)
        if radius is not None and not radius > 0:
            raise ValueError(f"probcover: radius must be > 0 or null; got {radius!r}")
        if not 0 < purity <= 1:
            raise ValueError(f"probcover: purity must be in (0, 1]; got {purity!r}")
        check_choice("probcover", "space", space, SPACES)
        self.radius, self.purity, self.space, self.max_edges = radius, float(purity), space, int(max_edges)
        self._points = self._graph = None

    def prepare(self, X, rng):
        self._points = self._graph = None

    def graph(self, Z: np.ndarray, n_classes: int) -> sparse.csr_matrix:
        if self._graph is not None and same_pool(self._points, Z):
            return self._graph
        radius = self.radius
        if radius is None:
            # a fixed seed: the graph is a function of the pool alone, so it can be kept between cycles
            clusters = KMeans(n_clusters=min(n_classes, len(Z)), n_init=3, random_state=0).fit_predict(Z)
            radius = purity_radius(Z, clusters, self.purity)
            if not radius > 0:  # duplicate points across clusters: no pure radius above 0
                radius = float(np.finfo(float).tiny)
        self.radius_ = radius
        self._points, self._graph = Z, ball_graph(Z, radius, self.max_edges)
        return self._graph

    def query(self, state, batch_size, rng):
        k = min(int(batch_size), len(state.unlabelled))
        Z, pool_only = representation(state, self.space)
        graph = self.graph(np.asarray(Z, dtype=float), len(state.classes))
        if not pool_only:
            self._points = self._graph = None  # an embedding changes with every fit
        picks = probcover_picks(graph, np.asarray(state.labelled), k, rng)
        return fill_at_random(picks, state.unlabelled, k, rng)
