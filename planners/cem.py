"""Cross-entropy method: Gaussian sampling, elites, smoothed mean and std, a floor on the std."""

from __future__ import annotations

from planners.sampling import SamplerConfig, SamplingPlanner, momentum_update


class CEM(SamplingPlanner):
    """CEM over action sequences (H, A) in [-1, 1].

    Each iteration samples `num_samples - 1` sequences from N(mean, std^2) (clipped to the
    bounds) plus the mean itself, keeps the `num_elites` lowest costs and refits mean and std to
    them, smoothed by `momentum`; std never drops below `min_std`. Returns the best sequence
    evaluated. Options: see `SamplerConfig`.
    """

    config_class = SamplerConfig

    def _refit(self, mean, std, elites, costs):
        new_mean = elites.mean(dim=1)
        new_std = elites.std(dim=1, correction=0)
        m = self.config.momentum
        return momentum_update(mean, new_mean, m), momentum_update(std, new_std, m)

