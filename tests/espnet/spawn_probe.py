"""Run by test_wrapper through ``espnet-distill-python -m tests.espnet.spawn_probe``.

Starts a worker the way ESPnet's multi-GPU training does (``torch.multiprocessing``,
``spawn`` context, a target resolved by reference in the child) and prints, as JSON,
whether the parent and the worker see the student frontend and upstreams.
"""

import json

import torch.multiprocessing as mp


def plugins_visible() -> dict:
    import espnet2.tasks.asr as asr
    import s3prl.hub

    return {"frontend": "distill_student" in asr.frontend_choices.classes,
            "upstream": hasattr(s3prl.hub, "distill_student_local")}


def report(queue) -> None:
    queue.put(plugins_visible())


def main() -> None:
    # The target must be importable by name in the worker, as ESPnet's ASRTask.main_worker is.
    from tests.espnet.spawn_probe import report as importable_report

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    worker = ctx.Process(target=importable_report, args=(queue,))
    worker.start()
    child = queue.get(timeout=300)
    worker.join()
    print(json.dumps({"parent": plugins_visible(), "child": child}))


if __name__ == "__main__":
    main()
