# How distill.sh runs its jobs (sourced by distill.sh, as ESPnet's asr.sh sources cmd.sh).
# train_cmd: CPU training jobs; cuda_cmd: GPU training jobs (through espnet2.bin.launch, which
# adds --gpu and, for --num_nodes > 1, the multi-node launch); decode_cmd: decoding jobs
# (JOB=1:N arrays).
#
#   local  run_local.sh (egs2/TEMPLATE/lib): every job on this machine. Nothing else needed.
#   run    Kaldi/ESPnet's utils/run.pl (./setup.sh ESPNET_ROOT links utils/)
#   slurm  utils/slurm.pl with conf/slurm.conf (copy ESPnet's egs2/TEMPLATE/asr1/conf/slurm.conf
#          and set your partitions); --num_nodes N then runs one srun task per node
#   sge    utils/queue.pl with conf/queue.conf (Grid Engine; --num_nodes goes through mpirun)
#
# Select one with cmd_backend=slurm ./run.sh ... or edit the default below.
cmd_backend=${cmd_backend:-local}

case "${cmd_backend}" in
    local)
        export train_cmd="run_local.sh"
        export cuda_cmd="run_local.sh"
        export decode_cmd="run_local.sh" ;;
    run)
        export train_cmd="run.pl"
        export cuda_cmd="run.pl"
        export decode_cmd="run.pl" ;;
    slurm)
        export train_cmd="slurm.pl --config conf/slurm.conf"
        export cuda_cmd="slurm.pl --config conf/slurm.conf"
        export decode_cmd="slurm.pl --config conf/slurm.conf" ;;
    sge)
        export train_cmd="queue.pl --config conf/queue.conf"
        export cuda_cmd="queue.pl --config conf/queue.conf"
        export decode_cmd="queue.pl --config conf/queue.conf" ;;
    *)
        echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local, run, slurm, sge)" >&2
        return 1 ;;
esac
