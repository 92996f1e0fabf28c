import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt``, comments dropped."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'gcahng', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='gcahng',
    version=read_version(),
    description='Globally Correlation-Aware Hard Negative Generation '
    '(GCA-HNG) for deep metric learning, on MMEngine/mmpretrain',
    long_description=open(osp.join(HERE, 'README.md')).read() if osp.exists(
        osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(
        exclude=('configs', 'tools', 'tests', 'benchmarks')),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require=dict(
        tests=read_requirements('tests'),
        optional=read_requirements('optional')),
    license='Apache-2.0',
    zip_safe=False)
