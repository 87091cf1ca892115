# localbaponi: the Baponi Files API emulator (+ sandbox execute) and the
# baponi-conformance suite, in one image.
#
#   docker build -t localbaponi .
#   docker run --rm -p 8080:8080 localbaponi
#
# Stage 1 builds the binaries with the Go toolchain of GO_IMAGE. Where the
# official golang image cannot be pulled (scripts/container-test runs with no
# registry access), pass a local image that has Go 1.26 at /usr/local/go:
#   --build-arg GO_IMAGE=localhost/localbaponi-go-builder
# Stage 2 is a Debian runtime with python3, node and bash for execute.

ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false PATH=/usr/local/go/bin:/go/bin:$PATH
WORKDIR /src
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags="-s -w" -o /out/localbaponi ./cmd/localbaponi && \
    go build -trimpath -ldflags="-s -w" -o /out/localbaponi-sandbox ./emulator/cmd/localbaponi-sandbox && \
    go build -trimpath -ldflags="-s -w" -o /out/baponi-conformance ./cmd/baponi-conformance

FROM ${BASE_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="localbaponi" \
      org.opencontainers.image.description="Local emulator of the Baponi Files API and sandbox execute, with the baponi-conformance suite" \
      org.opencontainers.image.source="https://github.com/localbaponi/localbaponi" \
      org.opencontainers.image.documentation="https://github.com/localbaponi/localbaponi#run-with-docker" \
      org.opencontainers.image.version="${VERSION}"

# The interpreters of execute (python is the default language), and
# ca-certificates for webhooks to https URLs.
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 nodejs bash ca-certificates && \
    rm -rf /var/lib/apt/lists/*

# An unprivileged user owns the data directory. The sandbox maps code to an
# unprivileged uid of its own inside new namespaces when the container
# allows them (see README "Run with Docker" for the privileges).
RUN groupadd --system --gid 10001 baponi && \
    useradd --system --uid 10001 --gid baponi --home-dir /data --shell /usr/sbin/nologin baponi && \
    mkdir -p /data /reports && chown baponi:baponi /data /reports

COPY --from=build /out/localbaponi /out/localbaponi-sandbox /out/baponi-conformance /usr/local/bin/

# The sandbox child of execute is the small localbaponi-sandbox binary,
# built from the same source (README "Sandbox file view: cost").
ENV LOCALBAPONI_ADDR=0.0.0.0:8080 \
    LOCALBAPONI_DATA_DIR=/data \
    LOCALBAPONI_SANDBOX_BINARY=/usr/local/bin/localbaponi-sandbox
VOLUME ["/data"]
EXPOSE 8080
USER baponi:baponi
WORKDIR /data
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=12 \
    CMD ["localbaponi", "healthcheck"]
ENTRYPOINT ["localbaponi"]
CMD ["serve"]
