"""Registries of gcahng, children of mmpretrain's.

With ``default_scope='gcahng'`` a config finds our components first and
falls back to mmpretrain's and mmengine's. Each registry names its own
modules and mmpretrain's in ``locations``: mmengine imports only the
locations of the registry that is asked, not of its parents, so mmpretrain's
components (``ResNet``, ``PackInputs``, ...) would otherwise be missing.
"""
from mmengine.registry import Registry
from mmpretrain.registry import DATA_SAMPLERS as MMPRE_DATA_SAMPLERS
from mmpretrain.registry import DATASETS as MMPRE_DATASETS
from mmpretrain.registry import EVALUATORS as MMPRE_EVALUATORS
from mmpretrain.registry import HOOKS as MMPRE_HOOKS
from mmpretrain.registry import LOG_PROCESSORS as MMPRE_LOG_PROCESSORS
from mmpretrain.registry import LOOPS as MMPRE_LOOPS
from mmpretrain.registry import METRICS as MMPRE_METRICS
from mmpretrain.registry import MODEL_WRAPPERS as MMPRE_MODEL_WRAPPERS
from mmpretrain.registry import MODELS as MMPRE_MODELS
from mmpretrain.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMPRE_OPTIM_WRAPPER_CONSTRUCTORS
from mmpretrain.registry import OPTIM_WRAPPERS as MMPRE_OPTIM_WRAPPERS
from mmpretrain.registry import OPTIMIZERS as MMPRE_OPTIMIZERS
from mmpretrain.registry import PARAM_SCHEDULERS as MMPRE_PARAM_SCHEDULERS
from mmpretrain.registry import RUNNERS as MMPRE_RUNNERS
from mmpretrain.registry import TRANSFORMS as MMPRE_TRANSFORMS
from mmpretrain.registry import VISBACKENDS as MMPRE_VISBACKENDS
from mmpretrain.registry import VISUALIZERS as MMPRE_VISUALIZERS
from mmpretrain.registry import \
    WEIGHT_INITIALIZERS as MMPRE_WEIGHT_INITIALIZERS


def _child(name: str, parent: Registry, ours: str, theirs: str) -> Registry:
    return Registry(
        name, parent=parent, scope='gcahng', locations=[ours, theirs])


RUNNERS = _child('runner', MMPRE_RUNNERS, 'gcahng.engine', 'mmpretrain.engine')
LOOPS = _child('loop', MMPRE_LOOPS, 'gcahng.engine', 'mmpretrain.engine')
HOOKS = _child('hook', MMPRE_HOOKS, 'gcahng.engine', 'mmpretrain.engine')
LOG_PROCESSORS = _child('log_processor', MMPRE_LOG_PROCESSORS, 'gcahng.engine',
                        'mmpretrain.engine')
OPTIMIZERS = _child('optimizer', MMPRE_OPTIMIZERS, 'gcahng.engine',
                    'mmpretrain.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMPRE_OPTIM_WRAPPERS, 'gcahng.engine',
                        'mmpretrain.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMPRE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'gcahng.engine', 'mmpretrain.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMPRE_PARAM_SCHEDULERS,
                          'gcahng.engine', 'mmpretrain.engine')
DATASETS = _child('dataset', MMPRE_DATASETS, 'gcahng.datasets',
                  'mmpretrain.datasets')
DATA_SAMPLERS = _child('data sampler', MMPRE_DATA_SAMPLERS, 'gcahng.datasets',
                       'mmpretrain.datasets')
TRANSFORMS = _child('transform', MMPRE_TRANSFORMS, 'gcahng.datasets',
                    'mmpretrain.datasets')
MODELS = _child('model', MMPRE_MODELS, 'gcahng.models', 'mmpretrain.models')
MODEL_WRAPPERS = _child('model_wrapper', MMPRE_MODEL_WRAPPERS, 'gcahng.models',
                        'mmpretrain.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMPRE_WEIGHT_INITIALIZERS,
                             'gcahng.models', 'mmpretrain.models')
METRICS = _child('metric', MMPRE_METRICS, 'gcahng.evaluation',
                 'mmpretrain.evaluation')
EVALUATORS = _child('evaluator', MMPRE_EVALUATORS, 'gcahng.evaluation',
                    'mmpretrain.evaluation')
VISUALIZERS = _child('visualizer', MMPRE_VISUALIZERS, 'gcahng.visualization',
                     'mmpretrain.visualization')
VISBACKENDS = _child('vis_backend', MMPRE_VISBACKENDS, 'gcahng.visualization',
                     'mmpretrain.visualization')
#: Re-rankers of a retrieval (``gcahng.evaluation.rerankers``): no parent,
#: mmpretrain has none.
RERANKERS = Registry(
    'reranker', scope='gcahng', locations=['gcahng.evaluation.rerankers'])
