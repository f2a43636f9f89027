#!/bin/bash
# Batch entry point of the seatcast image: train the model if it is missing, then forecast.
#
#   docker run --rm -v "$PWD/reports:/home/jovyan/work/reports" IMAGE seatcast-batch [PREDICT_OPTION...]
#
# Environment (all optional):
#   SEATCAST_TRAIN_CONFIG     training config, relative to the work folder (configs/train.yaml)
#   SEATCAST_ELECTION_CONFIG  election config (configs/elections/india2019.yaml)
#   SEATCAST_TRAIN_ARGS       extra `seatcast train` options, split on spaces, such as --no-cv
# Arguments go to `seatcast predict`, such as --resamples 200. The model is written to
# models/NAME.skops for configs/NAME.yaml; mount /home/jovyan/work/models to keep it between runs.
set -euo pipefail

work_dir="${SEATCAST_WORK_DIR:-/home/jovyan/work}"
train_config="${SEATCAST_TRAIN_CONFIG:-configs/train.yaml}"
election_config="${SEATCAST_ELECTION_CONFIG:-configs/elections/india2019.yaml}"
read -r -a train_args <<<"${SEATCAST_TRAIN_ARGS:-}"

cd "$work_dir"
for config in "$train_config" "$election_config"; do
    if [[ ! -f "$config" ]]; then
        echo "seatcast-batch: config not found: $work_dir/$config" >&2
        exit 2
    fi
done

# `seatcast train` names the model after the config file: configs/NAME.yaml -> models/NAME.skops.
config_file="${train_config##*/}"
model="models/${config_file%.*}.skops"

if [[ -f "$model" ]]; then
    echo "seatcast-batch: using the existing model $model"
else
    echo "seatcast-batch: $model not found; training it with $train_config"
    seatcast train --config "$train_config" "${train_args[@]}"
fi

seatcast predict --config "$election_config" --model "$model" "$@"
echo "seatcast-batch: results are in $work_dir/reports"
