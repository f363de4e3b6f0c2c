"""Token-ratio mixing of tokenized sources into training shards."""

from medcorpus.mixers.plan import InfeasibleMix, MixPlan, SourceStock, plan_mix
from medcorpus.mixers.token_mixer import TokenMixer

__all__ = ["InfeasibleMix", "MixPlan", "SourceStock", "TokenMixer", "plan_mix"]
