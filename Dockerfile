FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY notifications notifications
COPY activities activities
COPY workflows workflows
COPY features features
COPY api api
COPY commands commands
COPY migrations migrations
COPY templates templates
COPY static static
# Editable, so templates/, static/ and migrations/ are found next to the code.
RUN pip install --no-cache-dir -e .
RUN useradd --system --home /var/lib/mediation mediation && mkdir -p /var/lib/mediation && chown mediation /var/lib/mediation
USER mediation
EXPOSE 8000
