# CI-only stand-in for quay.io/jupyter/scipy-notebook, which CI cannot pull (no registry is
# reachable). It is built on a Debian rootfs made by debootstrap and copies what
# docker/Dockerfile relies on from Jupyter Docker Stacks: the user jovyan (uid 1000, gid 100)
# owning /home/jovyan/work and /opt/conda, Python on PATH from /opt/conda, JupyterLab, the
# fix-permissions, start.sh and start-notebook.py scripts, and tini as the entrypoint.
# It cannot prove that the real pinned base builds; docker/requirements.txt is kept loose
# enough for the Python versions that base may carry.
ARG ROOTFS_IMAGE=localhost/seatcast-ci-rootfs:latest
FROM ${ROOTFS_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV NB_USER=jovyan \
    NB_UID=1000 \
    NB_GID=100 \
    CONDA_DIR=/opt/conda \
    JUPYTER_PORT=8888 \
    HOME=/home/jovyan \
    SHELL=/bin/bash \
    LANG=C.UTF-8 \
    PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt

# Unpinned apt packages are fine here: this image only exists for one CI run. The CA bundle is
# rebuilt so that it includes any extra CA that .ci/docker-test.sh copied into the rootfs (CI
# machines reach PyPI through a TLS-inspecting proxy); PIP_CERT points pip at that bundle.
# hadolint ignore=DL3008
RUN apt-get update && \
    apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini && \
    rm -rf /var/lib/apt/lists/* && \
    update-ca-certificates

COPY standin/fix-permissions standin/start.sh standin/start-notebook.py /usr/local/bin/
RUN useradd --no-log-init --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" \
        "${NB_USER}" && \
    mkdir -p "/home/${NB_USER}/work" "${CONDA_DIR}" && \
    chown -R "${NB_UID}:${NB_GID}" "/home/${NB_USER}" "${CONDA_DIR}"

# The numeric uid, as NB_UID says, so that hadolint (DL3066) and the runtime agree.
USER 1000
RUN python3 -m venv "${CONDA_DIR}" && \
    pip install --no-cache-dir "jupyterlab>=4,<5" && \
    fix-permissions "${CONDA_DIR}" "/home/${NB_USER}"

WORKDIR /home/${NB_USER}
EXPOSE 8888
ENTRYPOINT ["tini", "-g", "--", "start.sh"]
CMD ["start-notebook.py"]
