# The API and the quote page in one container, from a Debian base and the package registries only:
#   docker build -t costmodel . && docker run --rm -p 8000:8000 costmodel
# then open http://127.0.0.1:8000/ (the page) or /docs (the API, served without a CDN).
FROM debian:bookworm-slim

# Debian's Python 3.11, and the CJK font the PDF quote embeds.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY costmodel costmodel
COPY tariffs tariffs
COPY examples examples
# A wheel-style install (not editable): tariffs/ and examples/ ship inside the package; with the ranges extra, so
# `costmodel serve --range MODEL` (budget ranges) works in the image.
RUN python3 -m venv /venv \
    && /venv/bin/python -m pip install --no-cache-dir --upgrade pip \
    && /venv/bin/python -m pip install --no-cache-dir -c constraints.txt ".[ranges]" \
    && rm -rf /app/costmodel /app/tariffs /app/examples

USER nobody
EXPOSE 8000
# One worker per core: quotes are CPU-bound. Set WORKERS to the container's cores.
ENV WORKERS=1 MPLCONFIGDIR=/tmp/matplotlib
CMD ["sh", "-c", "exec /venv/bin/costmodel serve --host 0.0.0.0 --port 8000 --workers ${WORKERS}"]
