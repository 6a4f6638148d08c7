"""Register this package's classes with ESPnet and s3prl as soon as they are imported.

ESPnet and s3prl look classes up in tables that live in their own modules
(``espnet2.tasks.asr.frontend_choices``, attributes of ``s3prl.hub``), with no plugin entry
point. So that a user's unchanged command works (``python -m espnet2.bin.asr_train --config
X.yaml`` with ``frontend: distill_student``, ``S3PRLUpstream("distill_student_local", ...)``,
``asr.sh`` with a plain ``python3``), the installed package puts ``espnet_distill_hooks.pth``
into site-packages; Python runs it at start-up and it imports this module, which only adds a
finder to ``sys.meta_path``. Nothing else happens until one of the modules in :data:`HOOKS` is
imported: then, right after that module has run, the matching ``register`` function adds our
entries to its tables. An unrelated ``python -c pass`` pays for this module alone (it imports
nothing but ``sys``). Set ``ESPNET_DISTILL_NO_HOOK=1`` to turn it off.
"""

import sys

#: ESPnet tasks whose models start from speech, so that a student front end makes sense
#: (SSL pre-training, text and synthesis tasks are left out). ``enh_s2t`` shares ASR's choices.
SPEECH_TASKS = ("asr", "asr_transducer", "st", "slu", "s2t", "s2t_ctc", "spk", "lid", "diar", "cls",
                "uasr", "s2st", "asvspoof", "aqa", "enh_s2t")

#: module -> (module, function) called with the imported module right after it has run
HOOKS = {f"espnet2.tasks.{task}": ("espnet_distill.espnet.register", "register_task_module")
         for task in SPEECH_TASKS}
HOOKS["espnet2.tasks.hubert"] = ("espnet_distill.pretrain.hubert_model", "register_task_module")
HOOKS["espnet2.train.dataset"] = ("espnet_distill.espnet.loader", "install")
HOOKS["espnet2.train.iterable_dataset"] = ("espnet_distill.espnet.loader", "install_iterable")
HOOKS["s3prl.hub"] = ("espnet_distill.s3prl", "register_hub_module")


class _AfterImport:
    """Loader wrapper: run the real loader, then the hook."""

    def __init__(self, loader, name: str):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _run_hook(self._name, module)

    def __getattr__(self, attr):  # get_code, get_source, is_package, ... of the real loader
        return getattr(self._loader, attr)


class PostImportFinder:
    """A ``sys.meta_path`` finder that finds nothing itself: for the modules of :data:`HOOKS` it
    asks the other finders and wraps the loader they return."""

    def __init__(self):
        self._busy = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in HOOKS or fullname in self._busy:
            return None
        import importlib.util

        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _AfterImport(spec.loader, fullname)
        return spec


def _run_hook(name: str, module) -> None:
    import importlib
    import logging

    where, function = HOOKS[name]
    try:
        getattr(importlib.import_module(where), function)(module)
    except Exception as err:  # never break the user's import; say why our classes are missing
        logging.getLogger(__name__).warning("espnet_distill: could not register with %s: %s: %s",
                                            name, type(err).__name__, err)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent); register with modules already imported."""
    if any(isinstance(f, PostImportFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, PostImportFinder())
    for name in HOOKS:
        if name in sys.modules:
            _run_hook(name, sys.modules[name])


install()
