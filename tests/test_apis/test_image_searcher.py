"""ImageSearcher on real JPEGs: the neighbours of tools/test.py, inputs,
index kinds, save / load, refusal of another model's index, checkpoints."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from fixtures.retrieval_images import IMAGES, image_classes, run_test_tool
from helpers import OFFICIAL_NAMES, load_tool
from mmengine.config import Config

from gcahng.apis import (GalleryIndex, ImageInputError,
                         ImageRetrievalInferencer, ImageSearcher,
                         IndexMismatchError)
from gcahng.evaluation.functional import (label_ids, nearest_neighbours,
                                          precision_at_r)
from gcahng.registry import DATASETS
from gcahng.utils import CheckpointMismatchError


def searcher_of(trained, protocol='leave_one_out', ckpt=None, **kwargs):
    kwargs.setdefault('device', 'cpu')
    kwargs.setdefault('num_workers', 0)
    kwargs.setdefault('progress', False)
    return ImageSearcher(trained['configs'][protocol], ckpt or trained['ckpt'],
                         **kwargs)


def split_of(trained, protocol):
    """``(paths, labels, is_query)`` of the config's test set."""
    cfg = Config.fromfile(trained['configs'][protocol])
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return ([i['img_path']
             for i in infos], np.array([i['gt_label'] for i in infos]),
            np.array([i.get('is_query', True) for i in infos]))


def metrics_from(results, query_labels, gallery_labels, leave_one_out):
    """R@1/2/4/8, RP and M@R (percent) from full rankings."""
    _, _, num_rel = label_ids(query_labels, gallery_labels, leave_one_out)
    rel = np.array([[lab == q for lab in r.labels]
                    for r, q in zip(results, query_labels)])
    rp, ap = precision_at_r(rel, num_rel)
    out = {
        f'R@{k}': 100.0 * rel[:, :k].any(axis=1).mean()
        for k in (1, 2, 4, 8)
    }
    valid = num_rel > 0
    out.update(
        RP=100.0 * rp[valid].mean(), **{'M@R': 100.0 * ap[valid].mean()})
    return out


@pytest.mark.parametrize('protocol', ['leave_one_out', 'query_gallery'])
def test_search_gives_the_neighbours_of_tools_test(trained, protocol,
                                                   tmp_path):
    """Searching the test set reproduces tools/test.py's metrics (same
    model, transforms and exact search), in both protocols."""
    expected = run_test_tool(trained['configs'][protocol], trained['ckpt'],
                             str(tmp_path / 'work'),
                             str(tmp_path / 'metrics.json'))
    paths, labels, is_query = split_of(trained, protocol)
    searcher = searcher_of(trained, protocol, batch_size=8)
    if protocol == 'leave_one_out':
        assert is_query.all()
        searcher.build_index(paths, labels=labels.tolist())
        results = searcher.search(paths, k=len(paths), exclude_self=True)
        assert all(len(r.paths) == len(paths) - 1 for r in results)
        assert all(r.query not in r.paths for r in results)
        got = metrics_from(results, labels, labels, True)
    else:
        assert 0 < is_query.sum() < len(paths)
        gallery = [p for p, q in zip(paths, is_query) if not q]
        queries = [p for p, q in zip(paths, is_query) if q]
        searcher.build_index(gallery, labels=labels[~is_query].tolist())
        results = searcher.search(
            queries, k=len(gallery), query_labels=labels[is_query].tolist())
        got = metrics_from(results, labels[is_query], labels[~is_query], False)
        assert [r.correct for r in results
                ] == [[lab == q for lab in r.labels]
                      for r, q in zip(results, labels[is_query])]
    for key, value in got.items():
        assert value == pytest.approx(
            expected[f'retrieval/{key}'], abs=1e-6), key
    # scores: cosine similarities, sorted
    for r in results:
        assert np.all(np.diff(r.scores) <= 1e-6)
        assert all(-1.0 - 1e-5 <= s <= 1.0 + 1e-5 for s in r.scores)


def test_embeddings_are_the_models(trained):
    """embed() = normalised extract_feat on the pipeline's inputs, for a
    folder, paths, image arrays and any batch size."""
    searcher = searcher_of(trained, batch_size=3)
    paths, _, _ = split_of(trained, 'leave_one_out')
    emb = searcher.embed(paths)
    assert emb.dtype == np.float32 and emb.shape == (len(paths), 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # streamed batch by batch (no image outlives its batch)
    chunks = list(searcher.iter_embed(paths))
    assert [start for start, _ in chunks] == list(range(0, len(paths), 3))
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), emb)
    one = searcher_of(trained, batch_size=1).embed(paths[:4])
    np.testing.assert_allclose(one, emb[:4], atol=1e-5)
    arrays = searcher.embed([mmcv.imread(p) for p in paths[:2]])
    np.testing.assert_allclose(arrays, emb[:2], atol=1e-6)
    single = searcher.embed(paths[0])
    np.testing.assert_allclose(single, emb[:1], atol=1e-6)
    # the model itself, on the data preprocessor's output
    batch = next(iter(searcher.loader(paths[:3])))
    with torch.no_grad():
        z = searcher.model.extract_feat(searcher.preprocess(batch))
    np.testing.assert_allclose(
        torch.nn.functional.normalize(z, dim=1).numpy(), emb[:3], atol=1e-5)


def test_folder_labels_and_bad_inputs(trained, tmp_path):
    searcher = searcher_of(trained)
    index = searcher.build_index(IMAGES)
    assert sorted(set(index.labels)) == image_classes()
    assert all(
        osp.basename(osp.dirname(p)) == lab
        for p, lab in zip(index.paths, index.labels))
    results = searcher.search(IMAGES, k=3)
    assert all(r.correct is not None for r in results)
    # one image directly in the folder: no labels for the folder
    loose = tmp_path / 'loose'
    loose.mkdir()
    (loose / 'a.jpg').write_bytes(
        open(osp.join(IMAGES, 'printer', 'adwaita.jpg'), 'rb').read())
    assert searcher.search(str(loose), k=2)[0].correct is None
    with pytest.raises(ImageInputError, match='no such image'):
        searcher.embed(str(tmp_path / 'missing.jpg'))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    with pytest.raises(ImageInputError, match='broken.jpg'):
        searcher.embed([str(broken)])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ImageInputError, match='without images'):
        searcher.embed(str(empty))


@pytest.fixture(scope='module')
def gallery(trained):
    """The fixture images indexed (flat) by the trained model."""
    searcher = searcher_of(trained)
    index = searcher.build_index(IMAGES)
    return dict(
        searcher=searcher,
        emb=np.stack([index.embeddings[i] for i in range(len(index))]),
        paths=index.paths,
        labels=index.labels)


@pytest.mark.parametrize('kind', ['flat', 'ivf', 'hnsw'])
def test_index_save_load_round_trip(trained, gallery, tmp_path, kind):
    """An index saved and loaded gives the same results, paths and labels;
    on this small gallery IVF (one cell) and HNSW find the exact ones."""
    searcher, emb = gallery['searcher'], gallery['emb']
    ref_idx, ref_scores = GalleryIndex(emb, gallery['paths']).search(
        emb, 5, exclude_self=True)
    index = searcher.index_embeddings(emb, gallery['paths'], gallery['labels'],
                                      kind)
    idx, scores = index.search(emb, 5, exclude_self=True)
    path = searcher.save_index(str(tmp_path / f'{kind}.npz'))
    loaded = GalleryIndex.load(path, searcher.identity)
    assert loaded.kind == kind and loaded.paths == index.paths
    assert loaded.labels == index.labels
    assert loaded.identity == searcher.identity
    idx2, scores2 = loaded.search(emb, 5, exclude_self=True)
    np.testing.assert_array_equal(idx2, idx)
    np.testing.assert_allclose(scores2, scores, atol=1e-6)
    # the exact neighbours: IVF with one cell is exhaustive; HNSW may swap
    # neighbours of equal similarity (this barely trained model has many)
    if kind != 'hnsw':
        np.testing.assert_array_equal(idx, ref_idx)
    else:
        assert np.mean(idx == ref_idx) >= 0.9
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    if kind == 'flat':  # end to end: a fresh searcher, images as queries
        fresh = searcher_of(trained)
        fresh.load_index(path)
        folder = osp.join(IMAGES, 'printer')
        hits = fresh.search(folder, k=5)
        first = gallery['paths'].index(hits[0].query)
        assert hits[0].indices == searcher.search(folder, k=5)[0].indices
        assert hits[0].scores[0] == pytest.approx(1.0, abs=1e-5)
        assert hits[0].query in hits[0].paths and first in hits[0].indices


def test_flat_index_is_the_metric_search(trained):
    """exclude_self / query->gallery flat search = nearest_neighbours."""
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 8)).astype(np.float32)
    index = GalleryIndex(emb, [str(i) for i in range(30)])
    idx, _ = index.search(emb, 4, exclude_self=True)
    ref = np.concatenate([c for _, c in nearest_neighbours(emb, 4)])
    np.testing.assert_array_equal(idx, ref)
    idx, scores = index.search(emb[:5] + 0.1, 3)
    ref = np.concatenate(
        [c for _, c in nearest_neighbours(emb[:5] + 0.1, 3, emb)])
    np.testing.assert_array_equal(idx, ref)
    with pytest.raises(ValueError, match='dims'):
        index.search(emb[:, :4], 2)


def test_index_of_another_model_is_refused(trained, tmp_path):
    searcher = searcher_of(trained)
    searcher.build_index(IMAGES)
    path = searcher.save_index(str(tmp_path / 'index.npz'))
    # other weights: one parameter changed
    state = dict(trained['state'])
    state['neck.fc.bias'] = state['neck.fc.bias'] + 0.01
    other = str(tmp_path / 'other.pth')
    torch.save(dict(meta={}, state_dict=state), other)
    with pytest.raises(IndexMismatchError, match='weights differ'):
        searcher_of(trained, ckpt=other).load_index(path)
    # same weights, other preprocessing
    other_pre = searcher_of(
        trained,
        cfg_options={'test_dataloader.dataset.pipeline.2.crop_size': 28})
    with pytest.raises(IndexMismatchError, match='preprocessing differ'):
        other_pre.load_index(path)
    # the same model (a fresh searcher) loads it
    assert len(searcher_of(trained).load_index(path)) == len(searcher.index)
    junk = tmp_path / 'junk.npz'
    junk.write_bytes(b'not an index')
    with pytest.raises(IndexMismatchError, match='not a gallery index'):
        searcher.load_index(str(junk))


def test_checkpoints_inference_and_official(trained, tmp_path):
    """An inference checkpoint (no training-only parts) and the authors'
    layout after the model converter embed as the training checkpoint; a
    checkpoint of another model is refused."""
    paths = [
        osp.join(IMAGES, 'printer', f) for f in ('adwaita.jpg', 'breeze.jpg')
    ]
    ref = searcher_of(trained).embed(paths)
    inference = searcher_of(trained, ckpt=trained['inference_ckpt'])
    np.testing.assert_allclose(inference.embed(paths), ref, atol=1e-6)
    assert inference.identity['weights_sha256'] == searcher_of(
        trained).identity['weights_sha256']

    converter = load_tool('model_converters/gcahng_official_to_mmengine.py')
    official = {}
    for key, value in trained['state'].items():
        for ours, theirs in OFFICIAL_NAMES.items():
            if key.startswith(ours):
                official['module.' + theirs + key[len(ours):]] = value
    converted = converter.convert(official)
    path = str(tmp_path / 'converted.pth')
    torch.save(dict(state_dict=converted, meta={}), path)
    np.testing.assert_allclose(
        searcher_of(trained, ckpt=path).embed(paths), ref, atol=1e-6)

    state = dict(trained['state'])
    state['neck.fc.weight'] = state['neck.fc.weight'][:16]
    wrong = str(tmp_path / 'wrong.pth')
    torch.save(dict(state_dict=state, meta={}), wrong)
    with pytest.raises(CheckpointMismatchError, match='mis-shaped'):
        searcher_of(trained, ckpt=wrong)


def test_mmpretrain_style_inferencer(trained, tmp_path):
    cache = str(tmp_path / 'proto.npz')
    kwargs = dict(device='cpu', num_workers=0, progress=False)
    first = ImageRetrievalInferencer(
        trained['configs']['leave_one_out'],
        prototype=IMAGES,
        prototype_cache=cache,
        pretrained=trained['ckpt'],
        **kwargs)
    assert osp.isfile(cache)
    query = osp.join(IMAGES, 'folder', 'breeze.jpg')
    hits = first(query, topk=2)[0]
    assert query in hits.paths and len(hits.paths) == 2
    assert hits.scores[0] == pytest.approx(1.0, abs=1e-5)
    second = ImageRetrievalInferencer(
        trained['configs']['leave_one_out'],
        prototype='/nonexistent',  # the cache is used
        prototype_cache=cache,
        pretrained=trained['ckpt'],
        **kwargs)
    assert second(query, topk=2)[0].paths == hits.paths


def test_flat_search_builds_nothing_per_call(monkeypatch):
    """The flat index's faiss index is built once; a search normalises the
    query only and returns faiss's own scores."""
    import faiss

    from gcahng.apis import gallery_index
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(50, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    index = GalleryIndex(emb, [str(i) for i in range(50)])
    built, normalised = [], []
    flat_ip, as_embeddings = faiss.IndexFlatIP, gallery_index.as_embeddings
    monkeypatch.setattr(faiss, 'IndexFlatIP',
                        lambda *args: built.append(args) or flat_ip(*args))
    monkeypatch.setattr(
        gallery_index,
        'as_embeddings',
        lambda x, name='': normalised.append(len(x)) or as_embeddings(x))
    for _ in range(3):
        idx, scores = index.search(emb[3:4], 5)
    assert len(built) == 1 and normalised == [1, 1, 1]
    bare = flat_ip(8)
    bare.add(index.embeddings)
    ref_scores, ref_idx = bare.search(as_embeddings(emb[3:4]), 5)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(scores, ref_scores)
