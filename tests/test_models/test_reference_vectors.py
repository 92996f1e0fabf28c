"""Every entry of the authors' worked example, reproduced to 1e-5.

``tests/data/reference/gcahng_small_vectors.pt`` (made with the authors'
code; see ``tests/data/reference/README.md``): N=3
classes x M=2 samples in group order, D=8, H=2, T=1, C=5, eval mode.
"""
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn

from gcahng.models.generators import CACAIGenerator
from gcahng.models.heads import GCLHead
from gcahng.models.losses import (DiversityLoss, NPairLoss, SimilarityLoss,
                                  SynthClassificationLoss, SyntheticPairLoss)
from gcahng.models.utils import correlation_edges

REFERENCE = osp.join(
    osp.dirname(__file__), '..', 'data', 'reference',
    'gcahng_small_vectors.pt')
ATOL = 1e-5


@pytest.fixture(scope='module')
def ref():
    return torch.load(REFERENCE, weights_only=True)


@pytest.fixture(scope='module')
def head(ref):
    head = GCLHead(ref['D'], ref['C'], num_layers=ref['T'], num_heads=ref['H'])
    state = {
        k[len('gnn.'):]: v
        for k, v in ref['state_dict'].items() if k.startswith('gnn.')
    }
    head.load_state_dict(state, strict=True)
    return head.eval()


@pytest.fixture(scope='module')
def h1(ref):
    sd = ref['state_dict']
    layer = nn.Linear(ref['D'], ref['C'])
    layer.load_state_dict({
        'weight': sd['softmax_classifier.weight'],
        'bias': sd['softmax_classifier.bias']
    })
    return layer


def hardness(ref) -> float:
    return math.exp(-ref['alpha'] / ref['J_avg'])


def fusion_u(ref) -> torch.Tensor:
    # one weight per anchor group (M - 1 = 1 each)
    return ref['fusion_u'].view(ref['M'], ref['M'] - 1)


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    torch.testing.assert_close(
        actual.detach().float(), expected.float(), atol=ATOL, rtol=0)


def test_checkpoint_keys_match(ref, head):
    state = {k for k in ref['state_dict'] if k.startswith('gnn.')}
    assert {'gnn.' + k for k in head.state_dict()} == state


def test_edge_init(ref):
    close(correlation_edges(ref['z']), ref['edge_init'])


def test_head_outputs(ref, head):
    with torch.no_grad():
        node_logits, lambdas = head(ref['z'], ref['labels'])
    close(node_logits, ref['node_logits'])
    close(lambdas, ref['lambdas'])


def test_head_outputs_symmetric_edges(ref, head):
    sym = GCLHead(
        ref['D'],
        ref['C'],
        num_layers=ref['T'],
        num_heads=ref['H'],
        symmetric_edges=True)
    sym.load_state_dict(head.state_dict())
    sym.eval()
    with torch.no_grad():
        node_logits, lambdas = sym(ref['z'], ref['labels'])
    close(node_logits, ref['node_logits'])
    close(lambdas, ref['lambdas'])


def test_synthetic_negatives(ref):
    gen = CACAIGenerator()
    synthetic = gen(
        ref['z'],
        ref['lambdas'],
        hardness(ref),
        ref['N'],
        ref['M'],
        fusion_weights=fusion_u(ref))
    close(synthetic, ref['S'])


def test_synthetic_negatives_from_head(ref, head):
    """The whole chain: head -> CACAI from the reference inputs only."""
    with torch.no_grad():
        _, lambdas = head(ref['z'], ref['labels'])
    synthetic = CACAIGenerator()(
        ref['z'],
        lambdas,
        hardness(ref),
        ref['N'],
        ref['M'],
        fusion_weights=fusion_u(ref))
    close(synthetic, ref['S'])


def test_np_plus(ref):
    close(NPairLoss()(ref['z'], ref['labels']), ref['np_plus'])
    close(NPairLoss()(ref['z'], ref['labels'], num_per_class=ref['M']),
          ref['np_plus'])


def test_l_syn(ref):
    close(SyntheticPairLoss()(ref['z'], ref['S']), ref['l_syn'])


def test_l_div_raw(ref):
    close(DiversityLoss(loss_weight=1.0)(ref['lambdas']), ref['l_div_raw'])


def test_l_cls_ce(ref, h1):
    n = ref['N']
    loss = SynthClassificationLoss(loss_weight=1.0)
    close(loss(h1, ref['S'], ref['labels'][:n]), ref['l_cls_ce'])
    close(loss(h1(ref['S']), ref['labels']), ref['l_cls_ce'])
    close(SynthClassificationLoss()(h1, ref['S'], ref['labels']),
          20.0 * ref['l_cls_ce'])


def test_l_sim_raw(ref):
    close(
        SimilarityLoss(loss_weight=1.0)(ref['z'], ref['S']), ref['l_sim_raw'])


def test_l_sim_raw_is_not_the_authors_mask(ref):
    """The authors' code zeroes flat entries ``n·B + g·N + n`` of the
    ``[M·N·N]`` list instead of ``a·N² + n·N + n``; for M = 2 these differ,
    and the reference value follows the correct (m = n) mask."""
    n_cls, m_per = ref['N'], ref['M']
    b = n_cls * m_per
    anchors = ref['z'].view(m_per, n_cls, 1, -1).expand_as(ref['S'])
    dissim = 1 - torch.cosine_similarity(anchors, ref['S'], dim=-1)
    flat = dissim.reshape(-1).clone()
    for n in range(n_cls):
        for g in range(m_per):
            flat[n * b + g * n_cls + n] = 0
    authors = flat.mean()
    assert abs(float(authors) - float(ref['l_sim_raw'])) > 1e-3
