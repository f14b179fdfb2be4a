# eni-pool image: eni-exporter and eni-tuner (deploy/ runs both from it).
#   docker build -t eni-pool:0.1.0 .
# The base is pinned to an exact Python patch release on Debian 12; both stages use
# the same one, so the wheels built here match the runtime's ABI.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY pool_engine/ pool_engine/
COPY kube_adapter/ kube_adapter/
COPY exporter/ exporter/
COPY tuner/ tuner/
# This package and every runtime dependency as wheels, each at the version
# requirements.lock pins (the lock also pins the test tools, which the image leaves
# out: it constrains, it does not add); the runtime stage installs only those wheels.
RUN pip wheel --wheel-dir /wheels --constraint requirements.lock .

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/tmp/numba
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels eni-pool \
    && groupadd --gid 65532 eni-pool \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin eni-pool
# Numeric, so that Kubernetes can check runAsNonRoot without resolving names.
USER 65532:65532
EXPOSE 9808
ENTRYPOINT []
CMD ["eni-exporter", "--help"]
