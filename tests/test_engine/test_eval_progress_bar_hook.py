"""EvalProgressBarHook: one bar per validation or test run, none in
training."""
import functools
import io
from types import SimpleNamespace

from mmengine.utils import ProgressBar

from gcahng.engine.hooks import eval_progress_bar_hook
from gcahng.engine.hooks.eval_progress_bar_hook import EvalProgressBarHook


def test_a_bar_per_validation_and_test_run_only(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(eval_progress_bar_hook, 'ProgressBar',
                        functools.partial(ProgressBar, file=out))
    runner = SimpleNamespace(
        train_dataloader=range(5),
        val_dataloader=range(3),
        test_dataloader=range(2))
    hook = EvalProgressBarHook()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0)
    hook.after_train_epoch(runner)
    assert hook._bar is None and out.getvalue() == ''
    for mode, total in (('val', 3), ('test', 2)):
        getattr(hook, f'before_{mode}_epoch')(runner)
        for i in range(total):
            getattr(hook, f'after_{mode}_iter')(runner, i)
        assert hook._bar.completed == total
        getattr(hook, f'after_{mode}_epoch')(runner)
        assert hook._bar is None
        text = out.getvalue()
        assert f'{total}/{total}' in text and text.endswith('\n')
        out.truncate(0)
        out.seek(0)
