from .diversity_loss import DiversityLoss
from .npair_loss import NPairLoss
from .proxy_anchor_loss import ProxyAnchorLoss
from .proxy_synthetic_loss import ProxySyntheticLoss
from .similarity_loss import SimilarityLoss
from .synth_classification_loss import SynthClassificationLoss
from .synthetic_pair_loss import SyntheticPairLoss

__all__ = [
    'DiversityLoss', 'NPairLoss', 'ProxyAnchorLoss', 'ProxySyntheticLoss',
    'SimilarityLoss', 'SynthClassificationLoss', 'SyntheticPairLoss'
]
