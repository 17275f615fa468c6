# syntax=docker/dockerfile:1
#
# The appliance in a container: one static binary (CGO_ENABLED=0; the store
# then compresses with MinLZ, pure Go, on every level, and still reads the
# files a cgo build compressed with zstd) with the time zone database
# built in, on Alpine for CA certificates (webhooks, ACME) and a shell for the
# health check; run as a non-root user; the store in the /data volume.
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t appliance .
#   docker run -d --name appliance -p 8080:8080 -v appliance-data:/data \
#     -e APPLIANCE_PUBLIC_URL=https://track.example.com -e APPLIANCE_TRUST_PROXY=true appliance
#   docker logs appliance                      # the one-time setup link
#   docker exec appliance appliance site list  # admin commands reach the server's socket in /data
#   docker exec appliance appliance backup -o - > backup-$(date +%F).tar
#
# Every flag has an APPLIANCE_* variable; the health check asks /healthz on
# :8080, so keep APPLIANCE_LISTEN there (or override HEALTHCHECK).

FROM golang:1.26.8-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/appliance .

FROM alpine:3.22
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 appliance \
 && adduser -S -D -H -u 10001 -G appliance -h /data appliance \
 && install -d -o appliance -g appliance -m 0700 /data
COPY --from=build /out/appliance /usr/local/bin/appliance
USER 10001:10001
ENV APPLIANCE_DATA=/data APPLIANCE_LISTEN=:8080
VOLUME ["/data"]
EXPOSE 8080
# docker stop's SIGTERM: a clean stop (drained, leases sealed, store flushed)
# well inside its default 10 s grace (README: Running it as a service).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["appliance"]
CMD ["serve"]
