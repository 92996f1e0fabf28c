"""Convert the authors' released GCA-HNG checkpoints to gcahng's names.

    python tools/model_converters/gcahng_official_to_mmengine.py IN OUT \
        [--config CONFIG]

Handles the ResNet-50 (R512) and GoogLeNet (G512) full-model checkpoints
(the authors' code and checkpoints: https://github.com/PWenJay/GCA-HNG):

===================================  ====================================
authors' name                        gcahng name
===================================  ====================================
``feature_extractor.backbone.model.``  ``backbone.`` (R50; mmpretrain ResNet
                                       uses torchvision's names)
``feature_extractor.backbone.``      ``backbone.`` (GoogLeNet, torchvision
                                     names)
``feature_extractor.fc.0.``          ``neck.bn.`` (BatchNorm1d)
``feature_extractor.fc.1.``          ``neck.fc.`` (Linear)
``gnn.``                             ``graph_head.`` (GCLHead mirrors the
                                     authors' module names)
``softmax_classifier.``              ``classifier.`` (h₁)
===================================  ====================================

GCAHNG's schedule buffers ``avg_metric_loss``/``avg_gen_loss`` are not in
the authors' files and are set to their initial value.

The backbone's ImageNet classifier (``fc``) and GoogLeNet's auxiliary
heads (``aux1``, ``aux2``) are not part of our models and are dropped.
With ``--config`` the converted weights are loaded into the model the
config builds, strictly, and any missing or unexpected key is an error.
The output is ``{'state_dict': ..., 'meta': ...}``, ready for
``tools/test.py CONFIG OUT``.
"""
import argparse
import os.path as osp
from collections import OrderedDict
from typing import Dict, Tuple

import torch

from gcahng.models.retrievers.gcahng import INITIAL_EPOCH_LOSS
from gcahng.utils import run_tool
from gcahng.utils.checkpoint_fit import (check_state_fits, read_checkpoint,
                                         unwrapped_key)

#: (authors' prefix, our prefix), first match wins.
PREFIXES: Tuple[Tuple[str, str], ...] = (
    ('feature_extractor.backbone.model.', 'backbone.'),
    ('feature_extractor.backbone.', 'backbone.'),
    ('feature_extractor.fc.0.', 'neck.bn.'),
    ('feature_extractor.fc.1.', 'neck.fc.'),
    ('gnn.', 'graph_head.'),
    ('softmax_classifier.', 'classifier.'),
)
#: Converted names that our models do not have.
DROPPED: Tuple[str, ...] = ('backbone.fc.', 'backbone.aux1.', 'backbone.aux2.')


def convert(official: Dict[str, torch.Tensor]) -> 'OrderedDict':
    """Rename an official state dict; unknown keys are an error."""
    converted, unknown = OrderedDict(), []
    for key, value in official.items():
        key = unwrapped_key(key)  # DataParallel's module.
        for src, dst in PREFIXES:
            if key.startswith(src):
                new = dst + key[len(src):]
                if not new.startswith(DROPPED):
                    converted[new] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(
            f'{len(unknown)} keys are not in the authors\' GCA-HNG layout '
            f'(e.g. {unknown[:5]}); is this a GCA-HNG checkpoint?')
    if any(k.startswith('graph_head.') for k in converted):
        # GCAHNG's schedule state (J̄_m, J̄_gen) is not in the authors'
        # files; start it as a fresh run would (it plays no part at test).
        for name in ('avg_metric_loss', 'avg_gen_loss'):
            converted[name] = torch.tensor(INITIAL_EPOCH_LOSS)
    return converted


def check_against_config(state: Dict[str, torch.Tensor], config: str) -> None:
    """Load ``state`` strictly into the model ``config`` builds."""
    from gcahng.apis.builders import load_config
    from gcahng.registry import MODELS
    cfg = load_config(config)
    model = MODELS.build(cfg.model)
    check_state_fits(
        model,
        state,
        f'the weights converted for {config}',
        allow_flag=None,
        optional_prefixes=())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help="the authors' checkpoint")
    parser.add_argument('dst', help='where to write the converted one')
    parser.add_argument(
        '--config', help='check the result loads into this config\'s model')
    args = parser.parse_args()
    state = convert(read_checkpoint(args.src)[0])
    if args.config:
        check_against_config(state, args.config)
    torch.save(
        dict(
            state_dict=state,
            meta=dict(converted_from=osp.basename(args.src))), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    run_tool(main)
