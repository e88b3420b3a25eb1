# The SegDesk collector relay, for container hosts.
#
#   docker build -t segdesk-relay .
#   docker run -d -p 8787:8787 -v segdesk-relay:/data \
#     -e SEGDESK_RELAY_WRITE_KEY="$(openssl rand -base64 32)" \
#     -e SEGDESK_RELAY_PULL_TOKEN="$(openssl rand -base64 32)" \
#     -e SEGDESK_RELAY_ORIGINS=https://example.com \
#     -e SEGDESK_RELAY_TRUST_PROXY=1 \
#     segdesk-relay
#
# Keep the keys you passed: the relay stores only their hashes. Put HTTPS in
# front (the host's proxy, or Caddy) and set SEGDESK_RELAY_TRUST_PROXY=1 only
# when such a proxy adds X-Forwarded-For. The buffer lives in /data: mount a
# volume there or every redeploy starts empty. More settings: docs/relay.md.
#
# On a host without a lasting disk, or for several relays behind one load
# balancer, keep the buffer in PostgreSQL instead (no volume needed):
#   -e SEGDESK_RELAY_DATABASE_URL='postgresql://relay:PASSWORD@db.example.com/relay?sslmode=require'
# docker-compose.yml shows two relays, PostgreSQL and Caddy together.

# Build the relay-only wheel (only the relay's own files; no Qt, no desktop code).
FROM python:3.12-slim AS build
WORKDIR /src
COPY segdesk/__init__.py segdesk/errors.py segdesk/
COPY segdesk/collector_relay segdesk/collector_relay
RUN python -m segdesk.collector_relay.wheel /dist

FROM python:3.12-slim
COPY --from=build /dist /dist
# With the postgres extra: the image serves either buffer (SEGDESK_RELAY_DATABASE_URL).
RUN pip install --no-cache-dir "$(ls /dist/*.whl)[postgres]" \
 && rm -rf /dist \
 && useradd --system --home-dir /data --shell /usr/sbin/nologin relay \
 && mkdir -p /data && chown relay /data
USER relay
ENV SEGDESK_RELAY_DATA=/data \
    SEGDESK_RELAY_HOST=0.0.0.0 \
    SEGDESK_RELAY_PORT=8787 \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8787
# /healthz wants the pull token; any HTTP answer (401 included) means it serves.
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request as u, urllib.error as e; exec('try: u.urlopen(\"http://127.0.0.1:8787/healthz\", timeout=3)\nexcept e.HTTPError: pass')"
CMD ["segdesk-relay", "serve"]
