from mmengine.config import Config


def enable_amp(cfg: Config) -> None:
    """Switch every optimiser wrapper of ``cfg`` to ``AmpOptimWrapper``
    (dynamic loss scale), as ``tools/train.py --amp`` does; a
    ``MultiOptimWrapperConstructor`` config has one wrapper per entry."""
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('constructor') == 'MultiOptimWrapperConstructor':
        wrappers = [
            v for k, v in optim_wrapper.items()
            if k != 'constructor' and isinstance(v, dict)
        ]
    else:
        wrappers = [optim_wrapper]
    for wrapper in wrappers:
        if wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            wrapper['type'] = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
