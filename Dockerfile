# syntax=docker/dockerfile:1
#
# aotsym's server and CLI as a small static image, non-root, for linux/amd64
# and linux/arm64:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t aotsym .
#   docker run -d -p 8080:8080 -v aotsym-data:/data \
#     -e AOTSYM_TOKENS="read=$(openssl rand -hex 32),upload=$(openssl rand -hex 32),admin=$(openssl rand -hex 32)" \
#     aotsym
#
# The server listens on 0.0.0.0:8080 in the container, and it refuses to do
# so without tokens: AOTSYM_TOKENS (or AOTSYM_TOKENS_FILE, e.g. a mounted
# secret) must be set, or the container exits with a message saying so.
# AOTSYM_INSECURE_OPEN=true serves without tokens; do that only on a network
# where everyone who can reach the port may upload and delete builds.
#
# Builds live in the volume /data (bbolt). With AOTSYM_STORE=s3://BUCKET/PREFIX
# and AWS credentials in the environment they live in S3 instead and /data is
# only a cache, so any number of containers can share the bucket. Every other
# setting of `aotsym serve` has its AOTSYM_* variable (aotsym serve --help).
# The same image runs the CLI: docker run --rm aotsym symbolicate --help.
#
# The binary comes from deploy/build.sh, the one build command that the tests
# (deploy/deploy_test.go) also run, for both architectures.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN VERSION=$VERSION deploy/build.sh aotsym /out/aotsym "$TARGETOS" "$TARGETARCH"
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aotsym /aotsym
COPY --from=build --chown=65532:65532 /out/data /data
ENV AOTSYM_DATA=/data \
    AOTSYM_LISTEN=0.0.0.0:8080 \
    AOTSYM_LOG_FORMAT=json
VOLUME /data
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/aotsym", "healthcheck"]
ENTRYPOINT ["/aotsym"]
CMD ["serve"]
