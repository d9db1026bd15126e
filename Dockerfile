# syntax=docker/dockerfile:1
# The sealops image: the controller, and `seal render` for the Argo CD CMP sidecar.
#   docker build -t ghcr.io/sealops/sealops:0.1.0 .
# Stage 1 builds wheels for the project and its runtime dependencies (never the dev extras);
# stage 2 installs them from that wheelhouse only, with no compiler and no network, and copies in
# pinned kustomize and helm from their official images (static Go binaries), so kustomize and
# Helm applications render in the sidecar. Versions: docs/operations.md, "The image".

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels sealops
COPY --from=registry.k8s.io/kustomize/kustomize:v5.6.0 /app/kustomize /usr/local/bin/kustomize
COPY --from=docker.io/alpine/helm:3.18.1 /usr/bin/helm /usr/local/bin/helm
# The same non-root user the manifests ask for (runAsUser 65532); /tmp is the only writable path
# (helm's cache, config and data live there).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["sealops-controller"]
