"""Passive baseline: every unlabelled point equally likely."""

from albench.strategy import Strategy, register


@register("random", "uniform random sampling (the passive baseline)")
class RandomSampling(Strategy):
    family = "random"

    def query(self, state, batch_size, rng):
        return rng.choice(state.unlabelled, size=min(batch_size, len(state.unlabelled)), replace=False)
