# How asr.sh runs its jobs. run.pl runs them on this machine; for a cluster use
# slurm.pl / queue.pl / ssh.pl with their conf/*.conf, as ESPnet's egs2/TEMPLATE/asr1/cmd.sh shows.
export train_cmd="run.pl"
export cuda_cmd="run.pl"
export decode_cmd="run.pl"
