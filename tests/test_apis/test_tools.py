"""tools/retrieve.py, tools/embed.py and tools/deployment/pytorch2onnx.py on
the fixture JPEGs with the tiny trained model (``conftest.trained``)."""
import csv
import json
import os.path as osp
from html.parser import HTMLParser
from urllib.parse import unquote

import numpy as np
import pytest
from fixtures.retrieval_images import IMAGES, image_classes
from helpers import load_tool, tool_error
from PIL import Image

from gcahng.apis import IndexMismatchError

retrieve = load_tool('retrieve.py')
embed = load_tool('embed.py')
pytorch2onnx = load_tool('deployment/pytorch2onnx.py')


class Links(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ('src', 'href')]


def common(trained):
    return [
        trained['configs']['leave_one_out'], trained['ckpt'], '--device',
        'cpu', '--num-workers', '0'
    ]


def test_retrieve_writes_results_report_and_grid(trained, tmp_path):
    out = tmp_path / 'out'
    query = osp.join(IMAGES, 'printer', 'breeze.jpg')
    index = str(tmp_path / 'gallery.npz')
    content = retrieve.main(
        common(trained) + [
            '--gallery', IMAGES, '--query', IMAGES, '-k', '3', '--out-dir',
            str(out), '--save-index', index, '--thumb-size', '32'
        ])
    n = 4 * len(image_classes())
    assert content['gallery_size'] == n and len(content['queries']) == n
    saved = json.loads((out / 'results.json').read_text())
    assert saved == json.loads(json.dumps(content))
    for q in saved['queries']:
        assert len(q['paths']) == 3
        assert np.all(np.diff(q['scores']) <= 1e-6)  # most similar first
        assert q['query_label'] == osp.basename(osp.dirname(q['query']))
        assert q['correct'] == [lab == q['query_label'] for lab in q['labels']]
    r1 = 100.0 * np.mean([q['correct'][0] for q in saved['queries']])
    assert saved['metrics']['R@1'] == pytest.approx(r1)
    with open(out / 'results.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * n
    first = saved['queries'][0]
    assert [r['path'] for r in rows[:3]] == first['paths']
    assert [int(r['correct']) for r in rows[:3]] == first['correct']

    # the report: every link and image resolves; one row per query
    page = (out / 'report.html').read_text()
    parser = Links()
    parser.feed(page)
    assert len(parser.links) == 2 * n * 4  # (src + href) x (query + 3)
    for link in parser.links:
        target = osp.normpath(osp.join(str(out), unquote(link)))
        assert osp.isfile(target), link
    assert page.count('<tr>') == n
    assert '#1a9850' in page and '#d73027' in page  # correct / wrong frames
    with Image.open(out / 'grid.png') as grid:
        assert grid.size == ((3 + 1) * (32 + 14) + 6, 16 * (32 + 14) + 6)

    # the saved index answers the same, without the gallery folder
    again = retrieve.main(
        common(trained) + [
            '--gallery', index, '--query', query, '-k', '3', '--out-dir',
            str(tmp_path / 'again')
        ])
    hit = [q for q in saved['queries'] if q['query'] == query][0]
    assert again['queries'][0]['paths'] == hit['paths']
    assert again['queries'][0]['correct'] is None  # a lone image: no label
    assert '#9e9e9e' in (tmp_path / 'again' / 'report.html').read_text()


def test_retrieve_refuses_another_models_index(trained, tmp_path, capsys):
    index = str(tmp_path / 'gallery.npz')
    embed.main(common(trained) + [IMAGES, '--out', index])
    other = list(common(trained))
    other[1] = trained['inference_ckpt']  # same weights: accepted
    retrieve.main(other + [
        '--gallery', index, '--query', IMAGES, '-k', '2', '--out-dir',
        str(tmp_path / 'ok')
    ])
    with pytest.raises(IndexMismatchError, match='built by another model'):
        retrieve.main(
            common(trained) + [
                '--gallery', index, '--query', IMAGES, '--out-dir',
                str(tmp_path / 'no'), '--cfg-options',
                'test_dataloader.dataset.pipeline.2.crop_size=28'
            ])
    # on the command line: one message, no traceback
    err = tool_error(
        lambda: retrieve.main(
            common(trained) +
            ['--gallery',
             str(tmp_path / 'nothing'), '--query', IMAGES]), capsys)
    assert 'no such folder or index file' in err


def test_embed_writes_embeddings_and_index(trained, tmp_path):
    out = str(tmp_path / 'emb.npz')
    ivf = str(tmp_path / 'ivf.npz')
    summary = embed.main(
        common(trained) + [
            IMAGES, '--out', out, '--index', ivf, '--index-type', 'ivf',
            '--nlist', '2'
        ])
    n = 4 * len(image_classes())
    assert summary['num_images'] == n
    data = np.load(out, allow_pickle=False)
    assert data['embeddings'].shape == (n, 32)
    np.testing.assert_allclose(
        np.linalg.norm(data['embeddings'], axis=1), 1.0, atol=1e-5)
    assert data['paths'][0].startswith(IMAGES)
    assert sorted(set(data['labels'].tolist())) == image_classes()
    assert json.loads(str(data['identity']))['embed_dim'] == 32
    assert str(np.load(ivf)['kind']) == 'ivf'
    assert json.loads(str(np.load(ivf)['params']))['nlist'] == 2


def test_onnx_export_matches_pytorch(trained, tmp_path, capsys):
    pytest.importorskip('onnxruntime')
    out = str(tmp_path / 'model.onnx')
    result = pytorch2onnx.main([
        trained['configs']['leave_one_out'], trained['ckpt'], '--out', out,
        '--images', IMAGES, '--num-images', '6', '--torchscript',
        str(tmp_path / 'model.pt')
    ])
    printed = capsys.readouterr().out
    assert 'max |onnxruntime - PyTorch|' in printed
    assert result['diffs']['onnx'] <= 1e-4
    assert result['diffs']['torchscript'] <= 1e-4
    spec = json.loads(open(osp.join(tmp_path, 'model.preprocess.json')).read())
    assert spec['input']['shape'] == ['batch', 3, 32, 32]
    assert spec['mean'] == pytest.approx([123.675, 116.28, 103.53])
    assert [t['type']
            for t in spec['pipeline']] == ['ResizeEdge', 'CenterCrop']

    # the exported graph alone, on another batch size, against the searcher
    import onnxruntime as ort

    from gcahng.apis import ImageSearcher
    searcher = ImageSearcher(
        trained['configs']['leave_one_out'],
        trained['ckpt'],
        device='cpu',
        num_workers=0,
        progress=False)
    paths = [osp.join(IMAGES, c, 'tango.jpg') for c in image_classes()[:3]]
    inputs = searcher.preprocess(next(iter(searcher.loader(paths))))
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    got = session.run(None, {'input': inputs.numpy()})[0]
    np.testing.assert_allclose(got, searcher.embed(paths), atol=1e-4)
    assert got.shape == (3, 32)


def test_onnx_export_uses_the_test_set_by_default(trained, tmp_path):
    pytest.importorskip('onnxruntime')
    result = pytorch2onnx.main([
        trained['configs']['query_gallery'], trained['ckpt'], '--out',
        str(tmp_path / 'model.onnx'), '--num-images', '3'
    ])
    assert result['images'] == 3 and result['diffs']['onnx'] <= 1e-4


def test_embed_throughput_benchmark(capsys):
    bench = load_tool('../benchmarks/embed_throughput.py')
    result = bench.main([
        '--num-images', '8', '--image-size', '40', '--crop', '32',
        '--batch-size', '4', '--workers', '0', '--repeat', '1', '--device',
        'cpu', '--threads', '1', '--clock', 'cpu', '--gallery-size', '500',
        '--dim', '16', '--search-queries', '5'
    ])
    lines = capsys.readouterr().out.strip().splitlines()
    assert f'RESULT embed_over_bare={result["ratio"]:.3f}' in lines
    assert lines[
        -1] == f'RESULT search_over_faiss={result["search_ratio"]:.3f}'
    assert result['embed'] > 0 and result['bare'] > 0
    assert result['search_searcher'] > 0 and result['search_faiss'] > 0
