#!/bin/bash
# seatcast EC2 bootstrap for Amazon Linux 2023, rendered by `seatcast deploy launch`.
# cloud-init runs it once, as root, on first boot, and writes its output to
# /var/log/cloud-init-output.log (and to the serial console). It contains no credentials because
# the AWS CLI takes short-lived ones from the instance profile. It never prints the Jupyter token.
set -euo pipefail

# Settings filled in by `seatcast deploy launch`.
IMAGE_URI={{IMAGE_URI}}
REGISTRY={{REGISTRY}}
ECR_REGION={{ECR_REGION}}
MODE={{MODE}}
JUPYTER_PORT={{JUPYTER_PORT}}
ELECTION_CONFIG={{ELECTION_CONFIG}}
TRAIN_CONFIG={{TRAIN_CONFIG}}
S3_OUTPUT={{S3_OUTPUT}}
SHUTDOWN_WHEN_DONE={{SHUTDOWN_WHEN_DONE}}

# Host folders mounted into the container; the image's user jovyan is uid 1000, gid 100.
DATA_DIR="${SEATCAST_DATA_DIR:-/srv/seatcast}"
CONTAINER_OWNER=1000:100
IMDS_URL=http://169.254.169.254/latest
WORK_DIR=/home/jovyan/work
REGION=""

log() {
    echo "seatcast: $*"
}

# retry ATTEMPTS COMMAND...: the instance profile's credentials can take a few seconds to appear
# after boot, so the first ECR login may fail.
retry() {
    local attempts=$1
    local attempt=1
    shift
    until "$@"; do
        if ((attempt >= attempts)); then
            log "failed after $attempts attempts: $*"
            return 1
        fi
        log "attempt $attempt of $attempts failed: $*; retrying"
        sleep $((attempt * 5))
        attempt=$((attempt + 1))
    done
}

install_docker() {
    log "installing Docker"
    dnf install -y docker
    systemctl enable --now docker
    # AL2023 AMIs ship the AWS CLI v2; minimal images may not.
    if ! command -v aws >/dev/null 2>&1; then
        dnf install -y awscli-2
    fi
}

# Print the instance's region. The instance requires IMDSv2, so every read needs a session token.
instance_region() {
    local session
    session=$(curl -fsS --retry 5 -X PUT "$IMDS_URL/api/token" \
        -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
    curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $session" \
        "$IMDS_URL/meta-data/placement/region"
}

# The password goes from the AWS CLI to docker through a pipe, never through argv.
ecr_login() {
    aws ecr get-login-password --region "$ECR_REGION" |
        docker login --username AWS --password-stdin "$REGISTRY"
}

run_jupyter() {
    log "starting JupyterLab on port $JUPYTER_PORT"
    # Jupyter makes a random token at start; it stays in the container, out of this log.
    docker run -d --name seatcast-jupyter --restart unless-stopped \
        -p "$JUPYTER_PORT:8888" \
        -v "$DATA_DIR/reports:$WORK_DIR/reports" \
        -v "$DATA_DIR/models:$WORK_DIR/models" \
        "$IMAGE_URI"
    log "JupyterLab is up; read the token with: sudo docker exec seatcast-jupyter jupyter server list"
}

run_batch() {
    log "running the batch job"
    docker run --rm --name seatcast-batch \
        -e SEATCAST_ELECTION_CONFIG="$ELECTION_CONFIG" \
        -e SEATCAST_TRAIN_CONFIG="$TRAIN_CONFIG" \
        -v "$DATA_DIR/reports:$WORK_DIR/reports" \
        -v "$DATA_DIR/models:$WORK_DIR/models" \
        "$IMAGE_URI" seatcast-batch 2>&1 | tee "$DATA_DIR/reports/batch.log"
    log "batch job finished; results are in $DATA_DIR/reports"
}

# Exit trap in batch mode. It also runs after a failure, so that the results and batch.log still
# reach S3 and an instance launched with --shutdown-when-done stops billing either way.
finish_batch() {
    local status=$?
    local region_args=()
    if [[ -n "$REGION" ]]; then
        region_args=(--region "$REGION")
    fi
    if [[ -n "$S3_OUTPUT" ]]; then
        log "uploading $DATA_DIR/reports to $S3_OUTPUT"
        aws s3 cp --recursive "${region_args[@]}" "$DATA_DIR/reports" "$S3_OUTPUT" ||
            log "upload to $S3_OUTPUT failed"
    fi
    if [[ "$SHUTDOWN_WHEN_DONE" == true ]]; then
        # The instance was launched with shutdown behaviour "terminate", so this ends billing.
        log "shutting down (bootstrap exit code $status)"
        shutdown -h now
    fi
    exit "$status"
}

main() {
    log "bootstrap started: mode $MODE, image $IMAGE_URI"
    if [[ "$MODE" == batch ]]; then
        trap finish_batch EXIT
    fi
    install_docker

    REGION=$(instance_region)
    log "instance region: $REGION"

    mkdir -p "$DATA_DIR/reports" "$DATA_DIR/models"
    chown "$CONTAINER_OWNER" "$DATA_DIR/reports" "$DATA_DIR/models"

    if [[ -n "$ECR_REGION" ]]; then
        retry 5 ecr_login
    fi
    retry 3 docker pull "$IMAGE_URI"

    case "$MODE" in
        jupyter) run_jupyter ;;
        batch) run_batch ;;
        *)
            log "unknown mode: $MODE"
            return 1
            ;;
    esac
    log "bootstrap finished"
}

main "$@"
