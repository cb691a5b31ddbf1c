# One image for `canvasbridge consume`, `canvasbridge worker` and `canvasbridge api`; the command
# picks the role. Installed from a wheelhouse built outside the image, so the build itself needs
# no network (see docs/operations.md, "Deploying with containers"):
#
#   pip wheel --wheel-dir wheelhouse .
#   docker build -t canvasbridge .
#
# BASE: a Debian-like image with python3 (the version the wheelhouse was built for, ≥ 3.11) and
# its venv module, e.g. python:3.11-slim-bookworm or a debootstrapped Debian bookworm with
# python3-venv (deploy/check-image makes one).
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
# lets a builder prune this stage's leftover image: docker image prune --filter label=canvasbridge.stage=build
LABEL canvasbridge.stage=build
COPY wheelhouse/ /wheelhouse/
RUN python3 -m venv /opt/canvasbridge \
    && /opt/canvasbridge/bin/pip install --no-cache-dir --no-index --find-links /wheelhouse canvasbridge \
    && /opt/canvasbridge/bin/canvasbridge --help > /dev/null

FROM ${BASE}
# a fixed uid, so volumes and Kubernetes' runAsNonRoot can name it; metrics/ is where the
# compose file mounts the volume the containers share their counters in (a new volume takes
# its owner from here)
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/canvasbridge canvasbridge \
    && install -d -o canvasbridge -g canvasbridge -m 700 /var/lib/canvasbridge/metrics
COPY --from=build /opt/canvasbridge /opt/canvasbridge
ENV PATH=/opt/canvasbridge/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CANVASBRIDGE_CONFIG=/etc/canvasbridge/canvasbridge.yaml
USER 10001:10001
WORKDIR /var/lib/canvasbridge
# the admin API (`canvasbridge api --host 0.0.0.0`); consume and worker listen on nothing
# unless metrics.port is set
EXPOSE 8470
ENTRYPOINT ["canvasbridge"]
CMD ["--help"]
