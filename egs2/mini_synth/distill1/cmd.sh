# How distill.sh runs its jobs: run_local.sh (egs2/TEMPLATE/lib) runs them on this machine.
# The demo needs nothing else; egs2/librispeech/distill1/cmd.sh shows the cluster launchers.
export train_cmd="run_local.sh"
export cuda_cmd="run_local.sh"
export decode_cmd="run_local.sh"
