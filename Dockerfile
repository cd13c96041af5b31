# The Hypernym API service image: `docker build -t hypernym-api .`
#
# Two stages: `build` installs the service and only its dependencies (the `service` extra of
# pyproject.toml, exact pins) into a virtualenv; `runtime` copies that virtualenv onto a clean
# slim Python and runs as uid 1000. The runtime works with a read-only root filesystem: bytecode
# is compiled at build time, nothing writes outside /tmp (mount a tmpfs or emptyDir there).
# Pin PYTHON_IMAGE to a digest in the release pipeline (python:3.11-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml ./
COPY service ./service
RUN /opt/venv/bin/pip install ".[service]" \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
 && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN groupadd --gid 1000 hypernym \
 && useradd --uid 1000 --gid 1000 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin hypernym \
 && chown 1000:1000 /tmp \
 && chmod 1777 /tmp
COPY --from=build /opt/venv /opt/venv
USER 1000:1000
# Fargate mounts the task's scratch volume on /tmp owned by root, mode 0755, unless the image
# declares the path a VOLUME: then it takes this directory's owner and mode (the ECS bind mount
# guide), so uid 1000 can write there.
VOLUME ["/tmp"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
ENTRYPOINT ["python", "-m", "service"]
