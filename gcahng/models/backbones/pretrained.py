"""Loading a backbone's pretrained weights, with one clear error
(docs/algorithm.md §2).

The backbones of docs/algorithm.md §2 start from released weights:
torchvision's ImageNet ResNet-50 and GoogLeNet, and the DINO ViT-S/16. Each
backbone takes a ``pretrained`` source, which may be

* a local file (``'/data/weights/resnet50-0676ba61.pth'``),
* a URL (``'https://dl.fbaipublicfiles.com/dino/...pth'``), or
* ``'torchvision://NAME'`` (``'torchvision://resnet50'``), torchvision's URL
  for that model as mmengine resolves it.

URLs (and hence ``torchvision://``) are read from the torch hub cache
(``<torch.hub.get_dir()>/checkpoints/<file name>``) when the file is there,
and downloaded otherwise. Without internet access a load fails with a single
:class:`PretrainedWeightsError` that names the source, the URL, the local
file to pass instead and the cache path that would be used.
"""
import argparse
import os.path as osp
from typing import Any, Dict, Optional, Sequence
from urllib.parse import urlparse

import torch
import torch.nn as nn
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import get_torchvision_models

from gcahng.utils.cli import UserError
from gcahng.utils.safe_globals import UnsafeCheckpointError

#: Prefixes mmengine resolves through torchvision's model URLs.
TORCHVISION_PREFIXES = ('torchvision://', 'modelzoo://')


class PretrainedWeightsError(UserError, RuntimeError):
    """Pretrained backbone weights could not be loaded (docs/algorithm.md §2).

    Raised (instead of urllib / ``FileNotFoundError`` / unpickling tracebacks)
    by :func:`load_pretrained_state_dict` and :func:`load_exactly`; the
    message says which weights, from where, and how to pass a local copy.
    """


def _is_url(source: str) -> bool:
    return source.startswith(('http://', 'https://'))


def resolve_pretrained_source(source: str) -> str:
    """Resolve ``torchvision://NAME`` to torchvision's URL for ``NAME``.

    Args:
        source (str): A local path, a URL or ``torchvision://NAME``.

    Returns:
        str: The URL for ``torchvision://`` sources, otherwise ``source``
        unchanged.

    Raises:
        PretrainedWeightsError: ``NAME`` is no torchvision model.
    """
    if not source.startswith(TORCHVISION_PREFIXES):
        return source
    name = source.split('://', 1)[1]
    urls = get_torchvision_models()
    if name not in urls:
        raise PretrainedWeightsError(
            f'{source!r}: torchvision has no model named {name!r} (known, '
            f'e.g.: resnet50, googlenet). Pass a torchvision model name, or '
            'the path of a local weights file.')
    return urls[name]


def hub_cache_file(url: str) -> str:
    """The torch hub cache file a URL is read from (or downloaded to).

    Args:
        url (str): An ``http(s)://`` URL.

    Returns:
        str: ``<torch.hub.get_dir()>/checkpoints/<basename of the URL>``.
    """
    return osp.join(torch.hub.get_dir(), 'checkpoints',
                    osp.basename(urlparse(url).path))


def _failure_message(what: str, source: str, url: Optional[str],
                     official: Optional[str], arg_name: str,
                     error: BaseException) -> str:
    """The text of the one error raised when ``source`` cannot be read."""
    where = repr(source) if url in (None, source) else f'{source!r} ({url})'
    message = (f'{what}: could not load pretrained weights from {where}: '
               f"{type(error).__name__}: {str(error).rstrip('.')}.")
    remote = url or (resolve_pretrained_source(official)
                     if official is not None else None)
    if remote is not None and _is_url(remote):
        name = osp.basename(urlparse(remote).path)
        message += (
            f' Download {remote} (on a machine with internet access if this '
            f"one has none) and pass the local file, e.g. {arg_name}='/path/"
            f"to/{name}', or copy it to {hub_cache_file(remote)} (the torch "
            'hub cache that URL and torchvision:// sources are read from).')
    else:
        message += (f" Pass the path of a local weights file as {arg_name}="
                    "'/path/to/weights.pth'.")
    return message + f' {arg_name}=None starts from random weights.'


def load_pretrained_state_dict(
    source: str,
    what: str,
    official: Optional[str] = None,
    arg_name: str = 'pretrained',
    wrapper_keys: Sequence[str] = ('state_dict', 'model')
) -> Dict[str, torch.Tensor]:
    """Load a pretrained state dict from a path, URL or ``torchvision://``.

    Checkpoints are loaded on the CPU with ``torch.load``'s ``weights_only``
    unpickler, additionally allowing ``argparse.Namespace`` (the ``args``
    entry of full training checkpoints such as DINO's).

    Args:
        source (str): Local path, ``http(s)://`` URL or ``torchvision://NAME``
            (see the module docstring).
        what (str): What is being loaded, for messages (``'GoogLeNet'``).
        official (str, optional): The released weights' URL or
            ``torchvision://NAME``, named in the error when ``source`` is a
            local file that cannot be read.
        arg_name (str): The argument users set, for the hint in the error.
            Defaults to ``'pretrained'``.
        wrapper_keys (Sequence[str]): If the checkpoint is a dict holding one
            of these keys (tried in order) with a dict value, that value is
            the state dict. Defaults to ``('state_dict', 'model')``.

    Returns:
        dict: The state dict, in the checkpoint's own key names.

    Raises:
        PretrainedWeightsError: The source could not be read (offline,
            missing file, unknown torchvision name, not a checkpoint).
    """
    url = resolve_pretrained_source(source)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            checkpoint: Any = CheckpointLoader.load_checkpoint(
                url, map_location='cpu')
    except UnsafeCheckpointError as e:  # keep our one-line refusal
        raise PretrainedWeightsError(f'{what}: {e}') from None
    except Exception as e:  # offline, missing file, bad pickle, ...
        raise PretrainedWeightsError(
            _failure_message(what, source, url if _is_url(url) else None,
                             official, arg_name, e)) from None
    if not isinstance(checkpoint, dict):
        raise PretrainedWeightsError(
            f'{what}: {source!r} holds a {type(checkpoint).__name__}, not a '
            'state dict.')
    for key in wrapper_keys:
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def load_exactly(module: nn.Module, state: Dict[str, torch.Tensor], what: str,
                 source: str) -> None:
    """``module.load_state_dict(state)`` that names ``source`` on mismatch.

    Every parameter and buffer of ``module`` must be in ``state`` with its
    shape and ``state`` must hold nothing else.

    Args:
        module (nn.Module): The backbone to load into.
        state (dict): A state dict already in ``module``'s key names.
        what (str): What is being loaded, for messages.
        source (str): Where ``state`` came from, for messages.

    Raises:
        PretrainedWeightsError: Keys are missing or unexpected, or shapes
            differ.
    """
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as e:  # size mismatches
        raise PretrainedWeightsError(
            f'{what}: the weights in {source!r} do not fit: {e}') from None
    if result.missing_keys or result.unexpected_keys:
        raise PretrainedWeightsError(
            f'{what}: the weights in {source!r} do not match the model: '
            f'missing keys {_short(result.missing_keys)}, unexpected keys '
            f'{_short(result.unexpected_keys)}.')


def _short(keys: Sequence[str], limit: int = 8) -> str:
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'{list(keys[:limit])}{more}'


class PretrainedMixin:
    """``pretrained=`` for a backbone: the one way the backbones load
    released weights.

    A backbone class lists this mixin first and sets ``self.pretrained``
    (after :meth:`check_pretrained_args` in ``__init__``); its
    ``init_weights`` then runs the parent's initialisation (if the parent
    has one) and, when ``pretrained`` is set, reads the weights
    (:func:`load_pretrained_state_dict`), converts them to the backbone's
    names (:meth:`convert_pretrained`) and loads them exactly
    (:func:`load_exactly`). A subclass sets ``official_weights`` (named in
    the offline error) and overrides :meth:`convert_pretrained`,
    :meth:`pretrained_name` and ``pretrained_wrapper_keys`` where its
    checkpoints need it (attributes or properties).
    """
    official_weights: Optional[str] = None
    pretrained_wrapper_keys: Sequence[str] = ('state_dict', 'model')
    pretrained: Optional[str]

    @staticmethod
    def check_pretrained_args(pretrained: Optional[str], init_cfg: Any,
                              name: str) -> None:
        """Refuse ``pretrained`` together with
        ``init_cfg=dict(type='Pretrained')``."""
        if pretrained is not None and isinstance(init_cfg, dict) \
                and init_cfg.get('type') == 'Pretrained':
            raise ValueError(f'{name}: give either `pretrained` or '
                             "init_cfg=dict(type='Pretrained'), not both")

    def pretrained_name(self) -> str:
        """What is loaded, for messages."""
        return type(self).__name__

    def convert_pretrained(
            self, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The checkpoint's state dict in this backbone's names."""
        return state

    def init_weights(self) -> None:
        """The parent's initialisation, then ``pretrained`` if given.

        Raises:
            PretrainedWeightsError: ``pretrained`` cannot be read (offline,
                missing file) or does not match the model key for key.
        """
        parent_init = getattr(super(), 'init_weights', lambda: None)
        if self.pretrained is None:
            parent_init()
            return
        what = self.pretrained_name()
        state = load_pretrained_state_dict(
            self.pretrained,
            what,
            official=self.official_weights,
            wrapper_keys=self.pretrained_wrapper_keys)
        parent_init()
        load_exactly(self, self.convert_pretrained(state), what,
                     self.pretrained)


__all__ = [
    'PretrainedWeightsError', 'resolve_pretrained_source', 'hub_cache_file',
    'load_pretrained_state_dict', 'load_exactly', 'PretrainedMixin'
]
