# The desk's image: `handoff-desk` as its entry point, run as an unprivileged user.
#   docker build -t handoff-desk .            (or: podman build -t handoff-desk .)
#   docker run --rm -p 8000:8000 handoff-desk serve --demo
# deploy/compose.yaml runs it with PostgreSQL, Redis, two API processes, a worker and a proxy.
# BASE: any Debian-based image with python3 (3.11 or newer) and its venv module.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /app
# Dependencies first, at the releases constraints.txt pins: a change of our code alone reuses them.
COPY pyproject.toml constraints.txt README.md ./
RUN python3 -m venv /opt/venv \
 && mkdir -p handoff_desk schema resolvers db workers vendor_internals \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -c constraints.txt . \
 && /opt/venv/bin/pip uninstall --yes --quiet handoff-desk
COPY handoff_desk handoff_desk
COPY schema schema
COPY resolvers resolvers
COPY db db
COPY workers workers
COPY vendor_internals vendor_internals
COPY web web
COPY schema.graphql LICENSE ./
# Installed in place (the console's files are read from /app/web beside the code), then
# byte-compiled, so that the image never writes into itself.
RUN rm -rf build \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps -e . \
 && /opt/venv/bin/python -m compileall -q /app

FROM ${BASE}
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/handoff-desk desk
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HANDOFF_HOST=0.0.0.0 \
    HANDOFF_PORT=8000
USER desk
# The demo's SQLite file (and its token secret) go here when no HANDOFF_DATABASE_URL is set.
WORKDIR /var/lib/handoff-desk
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
ENTRYPOINT ["handoff-desk"]
CMD ["serve"]
