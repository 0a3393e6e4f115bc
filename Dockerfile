# news-ingest: slim image with CPU-only torch, the project, and optionally baked-in argos models.
#   docker build -t news-ingest .
#   docker build -t news-ingest --build-arg ARGOS_MODELS="hi:en de:en" .      # needs network at build
#   docker run --rm -v "$PWD/out:/out" news-ingest run /app/examples --out /out/demo
#   docker run --rm -e PREFECT_API_URL=http://host.docker.internal:4200/api news-ingest \
#       serve /app/examples --out s3://bucket/news --cron "0 * * * *"     # scheduled, visible in the UI
#   docker run --rm -e PREFECT_API_URL=... -v news-out:/app/out --entrypoint prefect news-ingest worker start --pool news
# Output: /app/out (a volume owned by the image's user, uid 1000) is the one writable place under
# /app; prefect.yaml's relative `out: out/scheduled` lands there.  Mount a volume or a host
# directory writable by uid 1000 on it to keep the Parquet.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ARGOS_PACKAGES_DIR=/opt/argos-packages \
    PREFECT_HOME=/tmp/prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# space-separated source:target pairs of argos models to install at build time, e.g. "hi:en de:en"
ARG ARGOS_MODELS=""

WORKDIR /app
# CPU torch first, from the CPU index only (--index-url, not --extra-index-url, so pip cannot
# pick PyPI's CUDA build), or argostranslate -> stanza pulls a multi-GB CUDA build
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"
COPY pyproject.toml constraints.txt README.md prefect.yaml ./
COPY ingest ingest
COPY flows flows
COPY schemas schemas
COPY examples examples
# the tested set of dependencies (constraints.txt, the same as scripts/bootstrap.sh installs)
RUN pip install -c constraints.txt . && mkdir -p "$ARGOS_PACKAGES_DIR"
RUN for pair in $ARGOS_MODELS; do \
      news-ingest models install "${pair%%:*}" "${pair##*:}" || exit 1; \
    done

# run as an unprivileged user; /app stays root-owned (read-only code and models)
RUN useradd --create-home --uid 1000 app && mkdir -p /app/out && chown app:app /app/out
VOLUME /app/out
USER app
ENV HOME=/home/app
ENTRYPOINT ["news-ingest"]
CMD ["--help"]
