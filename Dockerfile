FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini settings.py ./
COPY workflows workflows
COPY activities activities
COPY api api
COPY db db
COPY mail mail
COPY commands commands
COPY services services
COPY migrations migrations
COPY templates templates
COPY static static
# Editable, so templates/, static/ and migrations/ are found next to the code.
RUN pip install --no-cache-dir -e .
RUN useradd --system --home /var/lib/mediation mediation && mkdir -p /var/lib/mediation && chown mediation /var/lib/mediation
USER mediation
EXPOSE 8000
