# The Tracemark project image: the `tracemark` command (API server, anchoring worker, CLI).
# The contract artifact (contracts/LedgerAnchor.json) is committed, so the image needs no Node.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TRACEMARK_HOME=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
COPY scanner ./scanner
COPY tracemark ./tracemark
COPY contracts/LedgerAnchor.json ./contracts/LedgerAnchor.json
# Editable, so ledger.anchor finds the artifact beside the sources at /app/contracts.
RUN pip install -e . && useradd --create-home --uid 1000 tracemark \
    && mkdir -p /data /ke /witness && chown tracemark /data /ke /witness
USER tracemark
VOLUME ["/data"]
EXPOSE 8000

ENTRYPOINT ["tracemark"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
