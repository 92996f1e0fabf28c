"""The image pipeline of a trained model for image files (README, "Use a
trained model").

A config's test pipeline is written for its own dataset: the built-in
``SyntheticFineGrained`` renders its images in memory, so its test pipeline
has no file loader, while the CUB-layout and CSV datasets read files with
``LoadImageFromFile``. Search, embedding and export read files whatever the
model was trained on: :func:`inference_pipeline` is the config's test
pipeline (resize, crop; normalisation is the model's data preprocessor)
with a file loader in front when it has none, and ``PackInputs`` at the end
when it has none.
"""
from typing import List, Optional, Union

from mmengine.config import Config

from gcahng.utils.cli import UserError

#: Pipeline steps that read the image file (skipped for image arrays).
LOADING_STEPS = ('LoadImageFromFile', )
#: The step that hands the image to the model's data preprocessor.
PACKING_STEP = 'PackInputs'
#: What a config without a test pipeline is told to add (the benchmarks'
#: 224-pixel test transforms, ``configs/_base_/datasets/dml_224.py``).
EXAMPLE_PIPELINE = ("test_dataloader = dict(dataset=dict(pipeline=["
                    "dict(type='LoadImageFromFile'), dict(type='ResizeEdge', "
                    "scale=256, edge='short'), dict(type='CenterCrop', "
                    "crop_size=224), dict(type='PackInputs')]))")


class PipelineError(UserError, ValueError):
    """No image pipeline can be derived from the config (one-line
    message that says what to add)."""


def config_test_pipeline(cfg: Union[Config, dict]) -> Optional[List[dict]]:
    """The config's ``test_dataloader`` pipeline (else ``val_dataloader``'s),
    looked up through dataset wrappers (``dataset.dataset``); None when it
    has none."""
    for key in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset') or {}
        while 'pipeline' not in dataset and isinstance(
                dataset.get('dataset'), dict):
            dataset = dataset['dataset']
        if dataset.get('pipeline'):
            return [dict(step) for step in dataset['pipeline']]
    return None


def inference_pipeline(cfg: Union[Config, dict],
                       name: str = 'the config') -> List[dict]:
    """The steps that turn an image file into the model's input.

    The config's test pipeline (:func:`config_test_pipeline`) as it is, with
    ``LoadImageFromFile`` put in front when no step of
    :data:`LOADING_STEPS` reads the file (datasets rendered in memory, such
    as the built-in one) and ``PackInputs`` appended when missing. Image
    arrays skip the loading steps (see ``ImageSearcher``).

    Args:
        cfg (Config | dict): The model's config.
        name (str): The config's name, for the error.

    Raises:
        PipelineError: The config has no test (or validation) pipeline;
            the message shows the line to add.
    """
    steps = config_test_pipeline(cfg)
    if not steps:
        raise PipelineError(
            f'{name} has no test pipeline to read image files with (the '
            'resize and crop the model expects); add one to the config, '
            f'e.g. {EXAMPLE_PIPELINE}')
    if not any(step.get('type') in LOADING_STEPS for step in steps):
        steps.insert(0, dict(type=LOADING_STEPS[0]))
    if not any(step.get('type') == PACKING_STEP for step in steps):
        steps.append(dict(type=PACKING_STEP))
    return steps
