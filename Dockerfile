# syntax=docker/dockerfile:1
# The sealops controller image: `docker build -t ghcr.io/sealops/sealops:0.1.0 .`
# Stage 1 builds wheels for the project and its runtime dependencies (never the dev extras);
# stage 2 installs them from that wheelhouse only, with no compiler and no network.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels sealops
# The same non-root user the manifests ask for (runAsUser 65532); /tmp is the only writable path.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["sealops-controller"]
