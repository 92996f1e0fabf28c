"""ImageRetrievalInferencer is a real mmpretrain inferencer."""
import os.path as osp

import numpy as np
import pytest
from fixtures.retrieval_images import IMAGES
from mmpretrain.apis import BaseInferencer

from gcahng.apis import ImageRetrievalInferencer, ImageSearcher


@pytest.fixture(scope='module')
def inferencer(trained):
    return ImageRetrievalInferencer(
        trained['configs']['leave_one_out'],
        prototype=IMAGES,
        pretrained=trained['ckpt'],
        device='cpu',
        num_workers=0,
        progress=False)


def test_it_follows_mmpretrain_s_inferencer(inferencer, trained):
    assert isinstance(inferencer, BaseInferencer)
    assert isinstance(inferencer.searcher, ImageSearcher)
    folder = osp.join(IMAGES, 'folder')
    queries = [osp.join(folder, f) for f in ('adwaita.jpg', 'breeze.jpg')]
    queries.append(osp.join(IMAGES, 'printer', 'adwaita.jpg'))
    # batches of 2 through preprocess / forward / postprocess
    hits = inferencer(queries, batch_size=2, topk=3)
    assert [h.query for h in hits] == queries
    for query, hit in zip(queries, hits):
        assert len(hit.paths) == 3 and query in hit.paths
    # the same neighbours and scores as the searcher's own search
    direct = inferencer.searcher.search(queries, k=3)
    assert [h.paths for h in hits] == [h.paths for h in direct]
    np.testing.assert_allclose([h.scores for h in hits],
                               [h.scores for h in direct],
                               atol=1e-5)
    with pytest.raises(ValueError, match='unknown argument'):
        inferencer(queries[0], k=3)  # mmpretrain's name is topk


def test_list_models_names_the_configs_it_takes():
    names = ImageRetrievalInferencer.list_models('*gcahng/r50_pa_c*')
    assert names == [
        'configs/gcahng/r50_pa_cars196.py', 'configs/gcahng/r50_pa_csv.py',
        'configs/gcahng/r50_pa_cub.py'
    ]
    assert 'configs/baselines/r50_pa_cub.py' in \
        ImageRetrievalInferencer.list_models()
