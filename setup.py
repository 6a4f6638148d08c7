"""espnet-distill: distil HuBERT-family speech models into small, fast students for ESPnet2 and s3prl."""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = Path(__file__).parent
#: Run by Python at start-up from site-packages: it adds the import hook that registers the
#: package's classes with ESPnet and s3prl when they are imported (espnet_distill/_import_hook.py).
PTH = "espnet_distill_hooks.pth"


class BuildPyWithPth(build_py):
    """Put the .pth file at the root of the wheel (site-packages)."""

    def run(self):
        super().run()
        self.copy_file(str(HERE / PTH), str(Path(self.build_lib, PTH)), preserve_mode=0)


class EditableWheelWithPth(editable_wheel):
    """``pip install -e``: the editable wheel carries the .pth file too."""

    def _select_strategy(self, name, tag, build_lib):
        inner = super()._select_strategy(name, tag, build_lib)

        class WithPth:
            def __call__(self, wheel, files, mapping):
                inner(wheel, files, mapping)
                wheel.writestr(PTH, (HERE / PTH).read_bytes())

            def __enter__(self):
                inner.__enter__()
                return self

            def __exit__(self, *exc):
                return inner.__exit__(*exc)

        return WithPth()

version = {}
exec((HERE / "espnet_distill" / "version.py").read_text(), version)  # a literal assignment, no config text

setup(
    name="espnet-distill",
    version=version["__version__"],
    description=(
        "Distillation of self-supervised speech models for ASR (Wang et al., arXiv 2210.15631) "
        "as an ESPnet2 / s3prl plugin"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.12,<3.14",
    packages=find_packages(include=["espnet_distill", "espnet_distill.*"]),
    package_data={"espnet_distill.s3prl": ["resources/*.yaml", "resources/*.dict"]},
    install_requires=[
        # ESPnet >= 202609 pins torch>=2.11,<2.15 (not 2.12.x) and torchaudio 2.11.x
        "torch>=2.11,!=2.12.*,<2.15",
        "torchaudio>=2.11,<2.12",
        "espnet[asr]>=202609",
        # ESPnet's maintained s3prl fork (import name `s3prl`); never install it beside `s3prl`
        "espnet-s3prl>=2026.5.14",
        "sentencepiece",
        "jiwer",
        "humanfriendly",
        "soundfile>=0.12",
        "numpy",
        "PyYAML",
        "scikit-learn",
        "tqdm",
        "safetensors",
        "transformers",
        "tensorboardX",  # s3prl's legacy SUPERB runner imports it
        "tensorboard",  # ESPnet's Trainer logs to it unless a config says use_tensorboard: false
    ],
    extras_require={
        "test": ["pytest", "hypothesis", "matplotlib"],
        "plot": ["matplotlib"],
        # ESPnet's TEMPLATE asr.sh (format_wav_scp.py) and s3prl-main's SuperbASR problem
        "recipes": ["kaldiio", "sed_eval"],
        # export_student --format onnx / --quantize int8: torch's dynamo ONNX exporter needs onnxscript;
        # torchao is quantize_student(method="torchao") (espnet_distill/student/quantize.py)
        "export": ["onnx>=1.23", "onnxruntime>=1.32", "onnxscript>=0.7", "torchao>=0.18"],
    },
    cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth},
    entry_points={
        "console_scripts": [
            "espnet-distill-python = espnet_distill.bin.python_wrapper:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
