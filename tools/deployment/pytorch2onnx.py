"""Export the inference model of a checkpoint to ONNX (and TorchScript).

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \
        --out model.onnx [--images DIR_or_IMAGE] [--torchscript model.pt]

Exports :class:`gcahng.apis.EmbeddingModel`: backbone + neck + L2
normalisation (the GCL graph head, CACAI and h₁ are training-only), input
``input`` float32 ``[batch, 3, H, W]`` (H, W: the test pipeline's crop),
output ``embedding`` float32 ``[batch, D]``, batch axis dynamic. Then runs
onnxruntime and PyTorch on the same real images, preprocessed by the
config's test pipeline and data preprocessor, in two batch sizes (all
images, and one), and prints the largest absolute difference; more than
``--atol`` (1e-4) is an error. ``--images`` defaults to the first
``--num-images`` images of the config's test set (its files, or the images
of a dataset made in memory such as the built-in one). Beside the model,
``<out>.preprocess.json`` states the preprocessing it expects (the
pipeline's resize / crop steps, mean, std, RGB order) and the model's
identity. ``--torchscript`` also writes a traced TorchScript module, checked
the same way.
"""
import argparse
import json
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from gcahng.apis import ImageSearcher, resolve_images
from gcahng.apis.cli import add_model_arguments, searcher_from_args
from gcahng.utils import UserError, run_tool


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='pytorch2onnx.py', description=__doc__.split('\n')[0])
    add_model_arguments(parser, loader=False)
    parser.add_argument('--out', required=True, help='the ONNX file')
    parser.add_argument(
        '--images',
        help='images to check the export on (default: the config\'s test '
        'set)')
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--torchscript', help='also write a traced TorchScript module here')
    return parser.parse_args(argv)


def check_images(searcher: ImageSearcher, images: Optional[str],
                 num: int) -> List[Union[str, np.ndarray]]:
    """The images of ``--images``, or the first of the test set: their
    paths, or the images themselves (``img``) for a dataset made in
    memory."""
    if images is not None:
        items, _ = resolve_images(images)
        return items[:num]
    from gcahng.apis.builders import build_dataset
    try:
        dataset = build_dataset(searcher.cfg, 'test')
        infos = [
            dataset.get_data_info(i) for i in range(min(num, len(dataset)))
        ]
        items = [i['img_path'] if 'img_path' in i else i['img'] for i in infos]
    except Exception as err:
        raise UserError(
            'cannot read the config\'s test set to check the export '
            f'({type(err).__name__}: {err}); pass --images DIR') from None
    return items


def preprocess_spec(searcher: ImageSearcher, shape: Sequence[int]) -> dict:
    """What the exported model expects of its input."""
    identity = searcher.identity
    return dict(
        input=dict(
            name='input',
            shape=['batch', 3, int(shape[2]),
                   int(shape[3])],
            dtype='float32',
            layout='NCHW, RGB',
            normalise='(pixel - mean) / std, pixel in 0..255'),
        output=dict(
            name='embedding',
            shape=['batch', identity['embed_dim']],
            dtype='float32',
            meaning='L2-normalised embedding: rank by inner product'),
        pipeline=identity['preprocess']['pipeline'],
        mean=identity['preprocess']['mean'],
        std=identity['preprocess']['std'],
        to_rgb=identity['preprocess']['to_rgb'],
        identity=identity)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Export and check; returns the differences found."""
    args = parse_args(argv)
    searcher = searcher_from_args(
        args, device='cpu', num_workers=0, progress=False)
    items = check_images(searcher, args.images, args.num_images)
    if not items:
        raise UserError('no images to check the export on')
    loader = searcher.loader(items)
    inputs = torch.cat([searcher.preprocess(b) for b in loader])
    model = searcher.embedder.eval()
    with torch.no_grad():
        expected = model(inputs).numpy()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the exporters' deprecation notes
        torch.onnx.export(
            model, (inputs[:1], ),
            args.out,
            dynamo=False,
            input_names=['input'],
            output_names=['embedding'],
            dynamic_axes={
                'input': {
                    0: 'batch'
                },
                'embedding': {
                    0: 'batch'
                }
            },
            opset_version=args.opset)
    import onnxruntime as ort
    session = ort.InferenceSession(
        args.out, providers=['CPUExecutionProvider'])
    batch_all = session.run(None, {'input': inputs.numpy()})[0]
    batch_one = session.run(None, {'input': inputs[:1].numpy()})[0]
    diffs = dict(
        onnx=max(
            max_abs_diff(batch_all, expected),
            max_abs_diff(batch_one, expected[:1])))
    print(f'ONNX export {args.out}: max |onnxruntime - PyTorch| = '
          f'{diffs["onnx"]:.2e} on {len(items)} images (batch '
          f'{len(items)} and 1)')
    if args.torchscript:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            traced = torch.jit.trace(model, inputs[:1])
            traced.save(args.torchscript)
            loaded = torch.jit.load(args.torchscript)
            diffs['torchscript'] = max_abs_diff(
                loaded(inputs).numpy(), expected)
        print(f'TorchScript {args.torchscript}: max |TorchScript - PyTorch| '
              f'= {diffs["torchscript"]:.2e}')
    spec = preprocess_spec(searcher, tuple(inputs.shape))
    spec_path = osp.splitext(args.out)[0] + '.preprocess.json'
    with open(spec_path, 'w') as f:
        json.dump(spec, f, indent=2)
    print(f'preprocessing written to {spec_path}')
    bad = {k: v for k, v in diffs.items() if not v <= args.atol}
    if bad:
        raise RuntimeError(f'the export differs from PyTorch by more than '
                           f'--atol {args.atol}: {bad}')
    return dict(diffs=diffs, spec=spec_path, images=len(items))


if __name__ == '__main__':
    run_tool(main)
